"""The synth parts without a teacher: questions, scores, guard, identity, prompts, preferences."""

from doppel.config import CatchphraseGuard, PersonaConfig
from doppel.synth import prompts
from doppel.synth.guard import over_limit, overused
from doppel.synth.identity import identity_examples
from doppel.synth.preferences import usable
from doppel.synth.questions import dedupe, parse_questions, single_question
from doppel.synth.scoring import histograms, parse_scores, verdict

REAL = ["I mend nets. The tide comes in, the tide goes out, and I keep the lamp lit.",
        "Bread wants patience; you knead it and you leave it. Mark my words, it rises."] * 20


def test_guard_finds_a_planted_overused_word_with_rates():
    generated = [f"Ah, my friend, the tide is high today, friend, and bread number {i} rises." for i in range(30)]
    found = overused(generated, REAL, CatchphraseGuard(min_count=5, max_ratio=4))
    grams = {f["ngram"]: f for f in found}
    assert "friend" in grams and "ah" in grams
    assert grams["friend"]["real_per_1k"] == 0 and grams["friend"]["generated_per_1k"] > 100
    assert "tide" not in grams and "bread" not in grams  # the person's own words are not flagged
    assert "ah my friend" not in grams  # longer n-grams made of flagged words collapse into them
    cfg = CatchphraseGuard(max_per_100_words=5)
    assert over_limit(generated[0], ["friend"], cfg)
    assert not over_limit("I mend nets and keep the lamp lit for every friend who sails at night here, "
                          "and the harbour stays quiet while the bread rises slowly by the warm stove.",
                          ["friend"], cfg)


def test_guard_is_quiet_when_generated_text_matches_the_person():
    assert overused(REAL[:10], REAL, CatchphraseGuard(min_count=3)) == []


def test_identity_examples_use_the_configured_name():
    persona = PersonaConfig(name="Ada Byron", aliases=["Ada"], description="A mathematician who writes about engines.")
    examples = identity_examples(persona, "1852")
    answers = {ex.messages[-2].content: ex.messages[-1].content for ex in examples}
    assert answers["Who are you?"] == "I'm Ada Byron. I'm a mathematician who writes about engines."
    assert answers["What is your name?"].startswith("My name is Ada Byron.")
    others = [ex for ex in examples if ex.meta["kind"] == "not_someone_else"]
    assert others and all("Ada Byron" in ex.messages[-1].content for ex in others)
    assert any("after 1852" in ex.messages[-1].content for ex in examples if ex.meta["kind"] == "cannot_know")
    assert all(ex.messages[0].content == persona.prompt() for ex in examples)

    copied = identity_examples(persona, "1852", copies=3)
    assert len(copied) == 3 * len(examples) and len({ex.id for ex in copied}) == len(copied)
    firsts = [ex for ex in copied if ex.meta["copy"] == 0]
    assert [ex.messages for ex in firsts] == [ex.messages for ex in examples]
    rest = [ex for ex in copied if ex.meta["copy"]]
    assert all([m.role for m in ex.messages] == ["user", "assistant"] for ex in rest)  # no system message


def test_question_parsing_and_near_duplicate_removal():
    text = "1. What is the sea like in winter?\n2) Why bread?\n- Tell me more.\n* How do you mend a net?"
    assert parse_questions(text) == ["What is the sea like in winter?", "How do you mend a net?"]
    assert single_question("Sure! Here it is:\nWhat keeps you on the coast?") == "What keeps you on the coast?"
    assert single_question("No question here.") is None
    # Labels a small teacher writes before its question are not part of it.
    for reply in ('The answer: "How do you fix a broken garden?', "Write the one interviewer question: How do you "
                  "fix a broken garden?", "A: How do you fix a broken garden?", 'The question is: "How do you fix a '
                  'broken garden?"'):
        assert single_question(reply) == "How do you fix a broken garden?", reply
    items = [{"question": q} for q in ["What is the sea like in winter?", "what is the SEA like in winter",
                                       "What is the sea really like in the winter?", "How do you mend a net?"]]
    kept, dropped = dedupe(items, 0.75)
    assert [k["question"] for k in kept] == ["What is the sea like in winter?", "How do you mend a net?"]
    assert dropped == 2


def test_scores_parse_filter_and_histogram():
    assert parse_scores('Sure: {"voice": 5, "faithfulness": 3, "answers": 4}') == {
        "voice": 5, "faithfulness": 3, "answers": 4}
    assert parse_scores('{"voice": 9, "faithfulness": 3, "answers": 4}') is None
    assert parse_scores("five, four, three") is None
    assert verdict({"voice": 5, "faithfulness": 2, "answers": 4}, 3) == "low_faithfulness"
    assert verdict({"voice": 3, "faithfulness": 3, "answers": 3}, 3) is None
    assert verdict(None, 3) == "not_scored"
    h = histograms([{"voice": 5, "faithfulness": 2, "answers": 4}, {"voice": 5, "faithfulness": 3, "answers": 4}])
    assert h["voice"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 2} and h["faithfulness"]["2"] == 1


def test_prompt_templates_render_every_placeholder_and_keep_dollars():
    msgs = prompts.render("backtranslate", name="Ada", description="", passage="It cost $5 and ${x}.")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert "It cost $5 and ${x}." in msgs[1]["content"] and "${" not in msgs[0]["content"]
    for name in ("questions_category", "questions_passage", "answer_grounded", "answer_plain", "answer_generic",
                 "score", "rewrite"):
        assert set(prompts.load(name)) == {"system", "user"}


def test_preference_candidates_need_a_different_rejected_answer():
    assert usable("My own words.", None) == "no_rejected_answer"
    assert usable("My own words.", " My  own words. ") == "chosen_equals_rejected"
    assert usable("My own words.", "As an assistant, I think...") is None
