"""The answer as shown: the model's sentence cut to what it adds to the question (quire.concise).
The answers are Qwen2.5-Coder-0.5B's own, on XQuAD dev questions."""

import pytest

from quire.concise import concise


@pytest.mark.parametrize("question,answer,shown", [
    # The question restated before the fact.
    ("How many points did the Panthers defense surrender?", "The Panthers defense surrendered 308 points.",
     "308 points."),
    ("What is the second level of territorial division in Poland?",
     "The second level of territorial division in Poland is counties or powiats.", "Counties or powiats."),
    # A lead-in naming the sources, then the question restated after the fact.
    ("How many species of trees can be found in the Amazon rainforest?",
     "According to the sources, there are 16,000 species of trees in the Amazon rainforest.", "16,000"),
    ("How old was Peyton Manning when he played in Super Bowl 50?",
     "Based on the information provided in the sources, Peyton Manning was 39 years old when he played in "
     "Super Bowl 50.", "39 years"),
    # A purpose keeps its "to".
    ("Why was this short termed organization created?",
     "This short-term organization was created to coordinate the response to the embargo.",
     "To coordinate the response to the embargo."),
    # A yes or no, and whom it is about.
    ("In 1972, did Norway end up joining the European Union?",
     "No, Norway did not end up joining the European Union in 1972.", "No, Norway did not"),
    # Only the first sentence.
    ("Who led the Panthers in sacks?", "Kawann Short led the Panthers in sacks with 11. He also forced three fumbles.",
     "Kawann Short led the Panthers in sacks with 11."),
])
def test_the_answer_keeps_what_it_adds_to_the_question(question, answer, shown):
    assert concise(question, answer) == shown


@pytest.mark.parametrize("question,answer", [
    ("Who built the bridge?", "The bridge was built."),  # nothing beyond the question
    ("Who built it?", "It was built by Ada Lindqvist in 1890."),  # one question word is no restatement
])
def test_an_answer_with_nothing_to_cut_is_left_whole(question, answer):
    assert concise(question, answer) == answer


def test_citation_markers_and_an_empty_answer():
    assert concise("How many points did the Panthers defense surrender?",
                   "The Panthers defense surrendered 308 points [1].") == "308 points."
    assert concise("Who?", "") == ""
