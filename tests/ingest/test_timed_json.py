"""Timed transcripts in JSON: Oyez API hearings, youtube-transcript-api's get_transcripts()
output and {"<start seconds>": "text"} maps."""

import json

from tests.ingest.helpers import read, turns


def speaker(name: str, identifier: str) -> dict:
    return {"roles": None, "view_count": 0, "href": f"https://api.oyez.org/people/{identifier}", "name": name,
            "last_name": name.split()[-1], "thumbnail": None, "ID": 1, "identifier": identifier}


def turn(who: dict | None, start: float, blocks: list[tuple[str, float, float]]) -> dict:
    return {"speaker": who, "start": start, "stop": blocks[-1][2], "byte_start": 0, "byte_stop": 0,
            "text_blocks": [{"text": t, "start": s, "stop": e, "byte_start": 0, "byte_stop": 0} for t, s, e in blocks]}


BURGER = speaker("Warren E. Burger", "warren_e_burger")
WEDDINGTON = speaker("Sarah R. Weddington", "sarah_r_weddington")
OYEZ = {"title": "Oral Argument - December 13, 1971", "damaged": False, "id": 16147, "unavailable": False,
        "transcript": {"title": "Roe v. Wade", "sections": [
            {"turns": [
                turn(BURGER, 0, [("We will hear arguments in number 18.", 0, 18.7),
                                 ("Mrs. Weddington you may proceed.", 18.7, 35.9)]),
                turn(WEDDINGTON, 35.9, [("Mr. Chief Justice and may it please the court.", 35.9, 38.9),
                                        ("The statute provid es an exception for the life of the woman.", 38.9, 46.2),
                                        ("It provides nothing else, and a part of it reads in to the law.", 46.2, 50.0)])]},
            {"turns": [
                turn(BURGER, 50.0, [("Thank you, we will look into it in the morning.", 50.0, 52.0)]),
                turn(None, 52.0, [("Apart from that, the case is submitted.", 52.0, 55.0)])]}]},
        "media_file": [{"mime": "audio/mpeg", "href": "https://s3.amazonaws.com/oyez.case-media.mp3/x.mp3"}]}


def test_oyez_hearing_turns_speakers_times_and_split_words():
    [doc], res = read("1971.70-18-t01.json", json.dumps(OYEZ))
    assert doc.kind == "oyez" and doc.title == "Roe v. Wade - Oral Argument - December 13, 1971"
    assert turns(doc) == [
        ("Warren E. Burger", "We will hear arguments in number 18. Mrs. Weddington you may proceed."),
        ("Sarah R. Weddington", "Mr. Chief Justice and may it please the court. The statute provides an exception "
                                "for the life of the woman. It provides nothing else, and a part of it reads in to the law."),
        ("Warren E. Burger", "Thank you, we will look into it in the morning."),
        ("Unknown", "Apart from that, the case is submitted.")]
    assert (doc.turns[1].start, doc.turns[1].end) == (35.9, 50.0)
    # 'in to' stays although 'into' is a word here: 'in' is a word of its own ('a part' likewise)
    assert res.repairs == ["joined_split_words"]


def test_youtube_transcript_api_get_transcripts_output():
    saved = [{"abc123XYZ_0": [{"text": "Hello there", "start": 0.0, "duration": 1.5},
                              {"text": "and welcome", "start": 1.5, "duration": 2.0}],
              "def456UVW_1": [{"text": ">> JANE: The tide turns.", "start": 3.0, "duration": 2.0}]},
             ["unavailable_id"]]
    docs, _ = read("transcripts.json", json.dumps(saved))
    assert [turns(d) for d in docs] == [[("Unknown", "Hello there and welcome")], [("JANE", "The tide turns.")]]
    assert [d.meta["video_id"] for d in docs] == ["abc123XYZ_0", "def456UVW_1"] and docs[0].turns[0].end == 3.5
    assert docs[0].id != docs[1].id


def test_start_seconds_to_text_map():
    saved = {"12.5": "and so we kept", "0": "Jane: Every night", "3.25": "the lamp lit.", "20": "Bob: Why?"}
    [doc], _ = read("captions.json", json.dumps(saved))
    assert turns(doc) == [("Jane", "Every night the lamp lit. and so we kept"), ("Bob", "Why?")]
    assert (doc.turns[0].start, doc.turns[0].end, doc.turns[1].start) == (0.0, 20.0, 20.0)
