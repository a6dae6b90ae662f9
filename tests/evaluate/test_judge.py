"""The LLM judge against a local OpenAI-compatible server: both orders asked, flips count as ties."""

import re

import pytest

from doppel.config import JudgeSettings, PersonaConfig, TeacherConfig
from doppel.evaluate.judge import combine, judge_ladder, parse_choice
from doppel.evaluate.ladder import ModelRun, Prompter
from doppel.records import Example, Message
from tests.evaluate.openai_stub import StubServer

PERSONA = PersonaConfig(name="Mara Quell", description="A retired lighthouse keeper.")
QUESTIONS = [f"What do you think about topic {i}?" for i in range(5)]


def _answers(label: str, words: str) -> ModelRun:
    return ModelRun(label, label, answers=[{"q": i, "round": 0, "answer": f"{words} about topic {i}."}
                                           for i in range(len(QUESTIONS))])


def _held() -> list[Example]:
    return [Example(id=f"h{i}", messages=[Message(role="user", content=q),
                                          Message(role="assistant", content="Mark my words, it mends.")])
            for i, q in enumerate(QUESTIONS)]


def _answer_block(prompt: str, letter: str) -> str:
    return re.search(rf"Answer {letter}:\n(.*?)(\n\n|$)", prompt, re.S).group(1)


def voice_policy(prompt: str) -> str:
    """A judge that hears the voice: picks the answer with Mara's catch-phrase; rates it 5, others 2."""
    if "Reply with the number only" in prompt:
        return "5" if "mark my words" in prompt.split("An answer given")[1].lower() else "2"
    return "A" if "mark my words" in _answer_block(prompt, "A").lower() else "B"


def _judge(policy, tmp_path, runs):
    teacher = TeacherConfig(base_url=None, model="judge-stub", retries=0)
    prompter = Prompter(PERSONA, ["Mark my words, a mended net holds.", "The tide comes in."], 2)
    with StubServer(policy) as server:
        teacher = teacher.model_copy(update={"base_url": server.url})
        result = judge_ladder(teacher, JudgeSettings(questions=len(QUESTIONS)), PERSONA, runs, _held(),
                              prompter, tmp_path / "judge.sqlite")
    return result, server


def test_judge_asks_both_orders_and_finds_the_voice(tmp_path):
    runs = [_answers("sft", "Mark my words, here's the thing"), _answers("base", "The committee reported")]
    result, server = _judge(voice_policy, tmp_path, runs)
    pairwise = [p for p in server.prompts if "Which answer sounds more like Mara Quell" in p]
    assert len(pairwise) == 2 * len(QUESTIONS)  # every pair, both orders
    first_a = [p for p in pairwise if "mark my words" in _answer_block(p, "A").lower()]
    assert len(first_a) == len(QUESTIONS)  # half the time the sft answer is shown first
    assert all("Mark my words, a mended net holds." in p for p in pairwise)  # grounded in retrieved passages
    assert result["win_rates"]["sft"]["win_rate"] == 1.0 and result["win_rates"]["base"]["win_rate"] == 0.0
    assert result["flips_counted_as_ties"] == 0
    assert result["bradley_terry"]["sft"]["strength"] > result["bradley_terry"]["base"]["strength"]
    assert result["faithfulness"] == {"base": 2.0, "sft": 5.0}
    assert result["usage"]["requests_sent"] == len(server.prompts)


def test_position_bias_flips_count_as_ties(tmp_path):
    runs = [_answers("sft", "Mark my words"), _answers("base", "The committee reported")]
    result, _ = _judge(lambda prompt: "3" if "number only" in prompt else "A", tmp_path, runs)
    assert result["flips_counted_as_ties"] == len(QUESTIONS)
    assert result["win_rates"]["sft"]["win_rate"] == 0.5 == result["win_rates"]["base"]["win_rate"]


def test_cached_verdicts_are_not_asked_again(tmp_path):
    runs = [_answers("sft", "Mark my words"), _answers("base", "The committee reported")]
    _judge(voice_policy, tmp_path, runs)
    again, server = _judge(voice_policy, tmp_path, runs)
    assert server.prompts == [] and again["win_rates"]["sft"]["win_rate"] == 1.0


@pytest.mark.parametrize("text,choice", [("A", "A"), (" b.", None), ("B", "B"), ("A or B", None), ("", None),
                                         ("Answer B", "B")])
def test_parse_choice(text, choice):
    assert parse_choice(text) == choice


def test_combine():
    assert combine("A", "B") == 1.0 and combine("B", "A") == 0.0
    assert combine("A", "A") == 0.5 and combine(None, "B") == 0.5
