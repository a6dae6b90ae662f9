"""The verdict line tells whether held-out perplexity fell at every stage."""

from doppel.evaluate.report import verdict


def test_verdict_line():
    falls = {"base": {"heldout_perplexity": 90.0}, "cpt": {"heldout_perplexity": 40.0},
             "sft": {"heldout_perplexity": 38.5}}
    assert verdict(falls) == "held-out perplexity: base 90 → cpt 40 → sft 38.5 (falls at every stage)"
    falls["sft"]["heldout_perplexity"] = 41.0
    assert verdict(falls).endswith("(does NOT fall at every stage)")
    assert verdict({"base": {"heldout_perplexity": 3.0}}) == ""
