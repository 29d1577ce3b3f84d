"""The answer as shown: the model's sentence cut to what it adds to the question (quire.concise).
The answers are Qwen2.5-Coder-0.5B's own, on XQuAD dev questions."""

import pytest

from quire.concise import concise


@pytest.mark.parametrize("question,answer,shown", [
    # The question restated before the fact.
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


@pytest.mark.parametrize("question,answer,shown", [
    ("How many points did the Panthers defense surrender?", "The Panthers defense surrendered 308 points.", "308"),
    ("How many teams has Manning played for that reached the Super Bowl, while he was on their team?",
     "Two teams that reached the Super Bowl: the Broncos and the Pittsburgh Steelers.", "Two"),
    ("When were some of Luther's best-known works published?",
     "Martin Luther's best-known works were published in 1520: To the Christian Nobility of the German Nation, "
     "On the Babylonian Captivity of the Church, and On the Freedom of a Christian.", "1520"),
    ("When did Syria and Egypt launch a surprise attack on Israel?", "On October 6, 1973.", "October 6, 1973"),
    ("What year did Tesla die?", "Tesla died on 7 January 1943.", "1943"),  # the year, not the day
    ("In what year was the Interstate Highway System created?", "1950s.", "1950s"),
    # "How much": the unit, unless the question has it.
    ("How much time remained on the clock?", "17 seconds remained.", "17 seconds"),
    ("How much higher was the rate of deforestation in 2000 to 2005 compared to 1995 to 2000?", "18% higher",
     "18%"),
    # The question's own numbers are whole phrases: "20" is not "2000".
    ("How much higher was the rate in 2000 to 2005?", "It was 20% higher.", "20%"),
])
def test_a_question_for_a_year_date_or_number_gets_just_that(question, answer, shown):
    assert concise(question, answer) == shown


@pytest.mark.parametrize("question,answer", [
    # Two numbers the question lacks: which one it asks for is not for a rule to guess.
    ("How many times has Polonia won the cup?", "Twice as many times as it did in 1946."),
    ("How much did it cost?", "It cost $4.5 million in 1990."),
    # "two-thirds" is a share, not the number two.
    ("How many people, at most, have died of plague in Baghdad?",
     "Sometimes two-thirds of its population has been wiped out."),
    # The question's own year is not its answer.
    ("When did the 2005 drought end?", "Rains ended it in spring, as in 2005."),
])
def test_a_number_is_not_picked_when_it_is_not_the_only_one(question, answer):
    assert concise(question, answer) == answer


def test_citation_markers_and_an_empty_answer():
    assert concise("What is the second level of territorial division in Poland?",
                   "The second level of territorial division in Poland is counties or powiats [1].") \
        == "Counties or powiats."
    assert concise("Who?", "") == ""
