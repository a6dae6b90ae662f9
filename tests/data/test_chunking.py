"""The chunker loses and duplicates nothing, respects the token budget and carries headers."""

from hypothesis import given, settings
from hypothesis import strategies as st

from doppel.data.chunking import chunk_document, chunk_text, sentence_spans, token_counter
from doppel.records import Document


def words(text: str) -> list[str]:
    return text.split()


def test_sentence_spans_tile_the_text():
    text = "One. Two!  Three? \"Four.\" Five…\n\nSix without end"
    spans = sentence_spans(text)
    assert "".join(spans) == text
    assert len(spans) == 6


def test_chunks_keep_every_word_once_within_budget(tokenizer):
    count = token_counter(tokenizer)
    text = " ".join(f"Sentence number {i} talks about tides and lamps." for i in range(200))
    doc = Document(id="d", source="d.md", kind="markdown", title="On Tides", date="2021-05-01", text=text)
    chunks = chunk_document(doc, text, 64, count)
    assert len(chunks) > 5
    assert words(" ".join(c.text for c in chunks)) == words(text)  # nothing lost or duplicated
    for c in chunks:
        assert c.header == "Title: On Tides | Date: 2021-05-01"
        assert c.full_text().startswith("Title: On Tides | Date: 2021-05-01\n")
        assert len(tokenizer(c.full_text(), add_special_tokens=False)["input_ids"]) <= 64
        assert c.text.rstrip()[-1] == "."  # cut on sentence boundaries


def test_over_long_sentence_is_split_not_dropped(tokenizer):
    count = token_counter(tokenizer)
    text = "short one. " + " ".join(["word"] * 300) + " end. Last sentence here"
    chunks = chunk_text(text, 32, count)
    assert words(" ".join(chunks)) == words(text)
    assert all(count([c])[0] <= 32 for c in chunks)
    assert chunks[-1].strip().endswith("Last sentence here")  # the remainder is kept


def test_no_header_without_title_or_date(tokenizer):
    doc = Document(id="d", source="d.txt", kind="text", text="Plain words. More words.")
    [chunk] = chunk_document(doc, doc.text, 64, token_counter(tokenizer))
    assert chunk.header == "" and chunk.full_text() == "Plain words. More words."


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .!?\n—é")), max_size=400), st.integers(8, 40))
def test_property_chunking_preserves_words(tokenizer, text, budget):
    chunks = chunk_text(text, budget, token_counter(tokenizer))
    assert words(" ".join(chunks)) == words(text)
