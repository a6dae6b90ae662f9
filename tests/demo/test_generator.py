"""The demo corpus generator: determinism, valid files, honest summaries and two measurably different voices."""

from __future__ import annotations

import datetime
import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import frontmatter
import pytest
import srt

import doppel.demo
from doppel.demo import DEMO_PERSONA, DemoPersona, generate_demo_sources
from doppel.demo import background, persona

KINDS = {"persona": ("essays", "interviews", "notes"), "background": ("articles", "interviews", "notes")}
SUFFIX = {"essays": ".md", "articles": ".md", "interviews": ".srt", "notes": ".txt"}
LABEL = re.compile(r"^([A-Z][\w.]*(?: [A-Z][\w.]*)?): (.*)$", re.DOTALL)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
PERSONA_NAMES = {DEMO_PERSONA.name, *DEMO_PERSONA.aliases}


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-full")
    start = time.perf_counter()
    summary = generate_demo_sources(out, seed=0, scale=1.0)
    return out, summary, time.perf_counter() - start


@pytest.fixture(scope="module")
def voices(full):
    """(persona text, background text) of the full corpus, as readers see them."""
    return voice_text(full[0], "persona"), voice_text(full[0], "background")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-small")
    return out, generate_demo_sources(out, seed=0, scale=0.05)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def files(root: Path, voice: str, kind: str) -> list[Path]:
    return sorted((root / voice / kind).glob("*" + SUFFIX[kind]))


def turns(path: Path) -> list[tuple[str, str]]:
    """(speaker, text) turns of a transcript: a labelled cue opens a turn, others continue it."""
    out: list[tuple[str, str]] = []
    for cue in srt.parse(path.read_text(encoding="utf-8")):
        text = " ".join(cue.content.split())
        match = LABEL.match(text)
        if match:
            out.append((match.group(1), match.group(2)))
        else:
            assert out, f"{path.name}: the first cue has no speaker label"
            out[-1] = (out[-1][0], out[-1][1] + " " + text)
    return out


def prose(root: Path, voice: str, kind: str, speakers: set[str] | None = None) -> str:
    """The words a reader sees, in one voice: bodies without headings, turns without labels."""
    parts = []
    for path in files(root, voice, kind):
        if kind == "interviews":
            parts += [text for who, text in turns(path) if speakers is None or who in speakers]
        elif SUFFIX[kind] == ".md":
            body = frontmatter.loads(path.read_text(encoding="utf-8")).content
            parts += [line for line in body.splitlines() if not line.startswith("#")]
        else:
            parts.append(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(parts).split())


def voice_text(root: Path, voice: str) -> str:
    who = PERSONA_NAMES if voice == "persona" else None
    return " ".join(prose(root, voice, kind, who) for kind in KINDS[voice])


def catchphrase_count(text: str) -> int:
    norm = " ".join(text.casefold().split())
    return sum(len(re.findall(r"(?<!\w)" + re.escape(p) + r"(?!\w)", norm)) for p in DEMO_PERSONA.catchphrases)


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(text) if s.strip()]


def mean_sentence_length(text: str) -> float:
    lengths = [len(s.split()) for s in sentences(text)]
    return sum(lengths) / len(lengths)


def per_1k(count: int, text: str) -> float:
    return 1000.0 * count / len(text.split())


# --- public API -------------------------------------------------------------------------


def test_public_api_and_persona_fields():
    assert set(doppel.demo.__all__) >= {"DEMO_PERSONA", "DemoPersona", "generate_demo_sources"}
    assert isinstance(DEMO_PERSONA, DemoPersona)
    assert DEMO_PERSONA.name == "Mara Quell" and "Mara" in DEMO_PERSONA.aliases
    assert 4 <= len(DEMO_PERSONA.catchphrases) <= 6
    assert 10 <= len(DEMO_PERSONA.favourite_words) <= 20
    assert DEMO_PERSONA.interviewer == "Interviewer"
    with pytest.raises(Exception):
        DEMO_PERSONA.name = "someone else"  # frozen


def test_topic_data_keeps_questions_and_answers_linkable():
    assert 12 <= len(persona.TOPICS) <= 20
    assert len(background.ALL_TOPICS) > len(persona.TOPICS)
    for topic in background.ALL_TOPICS:
        for phrase in (topic.subject, *topic.things):
            assert mentions(topic, phrase), f"{topic.name}: '{phrase}' names none of its keywords"


def test_rejects_non_positive_scale(tmp_path):
    with pytest.raises(ValueError):
        generate_demo_sources(tmp_path, scale=0)


# --- determinism ------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_trees(tmp_path, small):
    generate_demo_sources(tmp_path, seed=0, scale=0.05)
    assert tree(tmp_path) == tree(small[0])


def test_output_does_not_depend_on_the_process_hash_seed(tmp_path, small):
    # str hashes are salted per process; a generator that used them would differ here.
    src = Path(doppel.demo.__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(src)}
    code = "import sys; from doppel.demo import generate_demo_sources as g; g(sys.argv[1], seed=0, scale=0.05)"
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env=env)
    assert tree(tmp_path) == tree(small[0])


def test_different_seed_changes_every_kind(tmp_path, small):
    generate_demo_sources(tmp_path, seed=1, scale=0.05)
    other, base = tree(tmp_path), tree(small[0])
    for voice, kinds in KINDS.items():
        for kind in kinds:
            mine = [v for k, v in other.items() if k.startswith(f"{voice}/{kind}/")]
            theirs = [v for k, v in base.items() if k.startswith(f"{voice}/{kind}/")]
            assert mine and set(mine).isdisjoint(theirs), f"{voice}/{kind} did not change with the seed"


def test_rerun_at_smaller_scale_leaves_no_stale_files(tmp_path):
    generate_demo_sources(tmp_path, seed=2, scale=0.2)
    summary = generate_demo_sources(tmp_path, seed=2, scale=0.05)
    on_disk = sum(1 for p in (tmp_path / "persona").rglob("*") if p.is_file())
    assert on_disk == summary["persona"]["files"]


# --- file formats -----------------------------------------------------------------------


def test_small_scale_is_small_but_has_every_kind(small, full):
    root, summary = small
    for voice, kinds in KINDS.items():
        for kind in kinds:
            assert len(files(root, voice, kind)) >= 2, f"{voice}/{kind}"
    assert summary["persona"]["words"] < full[1]["persona"]["words"] / 4
    assert summary["background"]["words"] < full[1]["background"]["words"] / 4


def test_markdown_front_matter_parses(full):
    root = full[0]
    for voice, kind, years in (("persona", "essays", (2019, 2024)), ("background", "articles", (2015, 2024))):
        dates = []
        for path in files(root, voice, kind):
            text = path.read_text(encoding="utf-8")
            assert text.startswith('---\ntitle: "') and "\r" not in text
            post = frontmatter.loads(text)
            assert isinstance(post["title"], str) and post["title"].strip()
            assert isinstance(post["date"], datetime.date)
            assert years[0] <= post["date"].year <= years[1]
            assert len(post.content.split()) > 500
            dates.append(post["date"])
        assert dates == sorted(dates) and len({d.year for d in dates}) >= 4, f"{kind} dates should span years"


def test_srt_files_parse_with_increasing_times(full):
    root = full[0]
    for voice in KINDS:
        for path in files(root, voice, "interviews"):
            cues = list(srt.parse(path.read_text(encoding="utf-8")))
            assert [c.index for c in cues] == list(range(1, len(cues) + 1))
            previous_end = datetime.timedelta(0)
            for cue in cues:
                assert cue.start >= previous_end and cue.end > cue.start
                lines = cue.content.split("\n")
                assert 1 <= len(lines) <= 2 and all(0 < len(line) <= 42 for line in lines), cue.content
                seconds = (cue.end - cue.start).total_seconds()
                words = len(cue.content.split())
                assert 0.5 <= seconds and 1.5 <= words / max(seconds, 0.9) <= 3.5 or words <= 3
                previous_end = cue.end


def test_persona_interviews_alternate_and_name_her(full):
    root = full[0]
    labels_used = set()
    for path in files(root, "persona", "interviews"):
        speakers = [who for who, _ in turns(path)]
        assert speakers[0] == DEMO_PERSONA.interviewer
        hers = {s for s in speakers if s != DEMO_PERSONA.interviewer}
        assert len(hers) == 1 and hers <= PERSONA_NAMES, hers
        assert all(a != b for a, b in itertools.pairwise(speakers)), "turns must alternate"
        assert speakers[-1] in PERSONA_NAMES
        labels_used |= hers
    assert {"Mara", "Mara Quell"} <= labels_used, "both her short and full name should appear as labels"
    for path in files(root, "background", "interviews"):
        assert {who for who, _ in turns(path)} == {"Host", "Guest"}


def test_questions_and_answers_share_a_topic(full):
    root = full[0]
    questions = set()
    for path in files(root, "persona", "interviews"):
        ts = turns(path)
        for (who, question), (_, answer) in zip(ts[::2], ts[1::2]):
            assert who == DEMO_PERSONA.interviewer
            if len(question.split()) < 4:  # a short nudge such as "Go on."
                continue
            questions.add(" ".join(question.split()[:3]))
            assert any(mentions(t, question) and mentions(t, answer) for t in persona.TOPICS), (question, answer)
            assert 2 <= len(sentences(answer)) <= 6
    assert len(questions) >= 15, "question templates should be varied"


def mentions(topic, text: str) -> bool:
    low = text.lower()
    return any(re.search(r"\b" + re.escape(k), low) for k in topic.keywords)


# --- summary ----------------------------------------------------------------------------


def disk_words(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        return len(frontmatter.loads(text).content.split())
    if path.suffix == ".srt":
        return sum(len(c.content.split()) for c in srt.parse(text))
    return len(text.split())


@pytest.mark.parametrize("which", ["small", "full"])
def test_summary_matches_disk(which, request):
    root, summary = request.getfixturevalue(which)[:2]
    for voice, kinds in KINDS.items():
        paths = [p for kind in kinds for p in files(root, voice, kind)]
        assert summary[voice]["files"] == len(paths) == sum(1 for p in (root / voice).rglob("*") if p.is_file())
        assert summary[voice]["words"] == sum(disk_words(p) for p in paths)
    exchanges = 0
    for path in files(root, "persona", "interviews"):
        ts = turns(path)
        exchanges += sum(1 for (a, _), (b, _) in itertools.pairwise(ts)
                         if a == DEMO_PERSONA.interviewer and b in PERSONA_NAMES)
    assert summary["persona"]["exchanges"] == exchanges


def test_full_scale_sizes_and_speed(full):
    root, summary, seconds = full
    assert 60_000 <= summary["persona"]["words"] <= 90_000
    assert summary["persona"]["exchanges"] >= 300
    assert 400_000 <= summary["background"]["words"] <= 500_000
    assert 60 <= summary["background"]["files"] <= 100
    assert len(files(root, "persona", "interviews")) >= 12
    for path in files(root, "persona", "interviews"):
        n = sum(1 for who, _ in turns(path) if who == DEMO_PERSONA.interviewer)
        assert 20 <= n <= 30
    assert seconds < 6, f"generation took {seconds:.1f}s"


def test_documents_are_not_near_duplicates(full):
    root = full[0]
    for voice in KINDS:
        paths = [p for kind in KINDS[voice] for p in files(root, voice, kind)]
        bodies = [p.read_bytes() for p in paths]
        assert len(set(bodies)) == len(bodies)
        shingles = []
        for p in paths[:: 2 if voice == "background" else 1]:
            words = p.read_text(encoding="utf-8").lower().split()
            shingles.append({tuple(words[i:i + 6]) for i in range(len(words) - 5)})
        for a, b in itertools.combinations(shingles, 2):
            assert len(a & b) / len(a | b) < 0.2
        long_sentences = [s for s in sentences(voice_text(root, voice)) if len(s.split()) >= 8]
        assert len(set(long_sentences)) / len(long_sentences) > 0.65


# --- the two voices ---------------------------------------------------------------------


def test_catchphrases_mark_the_persona_only(full, voices):
    root = full[0]
    mine, theirs = voices
    assert catchphrase_count(theirs) == 0
    assert per_1k(catchphrase_count(mine), mine) > 15
    # Roughly one sentence in three or four, in every kind of her writing.
    for kind in KINDS["persona"]:
        text = prose(root, "persona", kind, PERSONA_NAMES)
        per_sentence = catchphrase_count(text) / len(sentences(text))
        assert 0.18 <= per_sentence <= 0.4, (kind, per_sentence)


def test_style_markers_separate_the_voices(voices):
    mine, theirs = voices
    assert "—" not in theirs and per_1k(mine.count("—"), mine) > 8
    assert ";" in mine and "?" in mine
    assert mean_sentence_length(mine) < 0.7 * mean_sentence_length(theirs)
    first_person = re.compile(r"\b(?:I|my|I'm|I've|I'd|I'll)\b")
    assert per_1k(len(first_person.findall(mine)), mine) > 10 * per_1k(len(first_person.findall(theirs)) + 1, theirs)
    lengths = [len(s.split()) for s in sentences(mine)]
    assert min(lengths) <= 3 and max(lengths) >= 35, "short punchy sentences with the odd long one"


def test_favourite_words_are_hers_alone(full, voices):
    root = full[0]
    mine = voices[0].lower()
    everything_background = " ".join(p.read_text(encoding="utf-8").lower()
                                     for p in (root / "background").rglob("*") if p.is_file())
    used = 0
    for word in DEMO_PERSONA.favourite_words:
        pattern = re.compile(r"\b" + re.escape(word))  # a prefix: "mend" also catches "mended"
        assert not pattern.search(everything_background), f"'{word}' leaked into the background"
        hits = len(pattern.findall(mine))
        assert hits > 0, f"'{word}' never used by the persona"
        used += hits
    assert per_1k(used, mine) > 10
