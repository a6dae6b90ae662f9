"""Role-play datasets become Documents with the character's turns: RoleBench, Character-LLM,
ChatHaruhi JSON and its `Name:「…」` scripts, stage directions removed."""

import json

from doppel.config import PersonaConfig, SourceConfig
from doppel.ingest import stage
from doppel.workspace import Workspace
from tests.ingest.helpers import read, turns


def jsonl(*rows) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"


def test_rolebench_jsonl_one_document_per_generated_answer():
    data = jsonl(
        {"role": "Sheldon Cooper", "question": "What do you think of trains?",
         "generated": ["Trains are the pinnacle of human engineering.", "I find them soothing, unlike people."],
         "type": "script_agnostic"},
        {"role": "Abraham Lincoln", "question": "Describe your childhood.",
         "generated": ["I grew up in a log cabin in Kentucky."], "type": ["general", "role_specific"]})
    docs, res = read("rolebench-eng/general/train.jsonl", data)
    assert res.reader == "json" and [turns(d) for d in docs] == [
        [("User", "What do you think of trains?"), ("Sheldon Cooper", "Trains are the pinnacle of human engineering.")],
        [("User", "What do you think of trains?"), ("Sheldon Cooper", "I find them soothing, unlike people.")],
        [("User", "Describe your childhood."), ("Abraham Lincoln", "I grew up in a log cabin in Kentucky.")]]
    assert docs[0].meta == {"format": "rolebench", "type": ["script_agnostic"]}
    assert docs[2].meta["type"] == ["general", "role_specific"] and len({d.id for d in docs}) == 3


def test_character_llm_interviews_keep_spoken_turns_only():
    multiturn = {"character": "Ludwig van Beethoven", "model": "sft", "topic": "Your father", "qid": 3,
                 "max_turns": 5, "finished": True, "content": [
                     {"turn_id": 0, "turn_role": "interviewer", "turn_content": [
                         {"role": "Man", "action": "(speaking)", "content": "What was your father like?"}]},
                     {"turn_id": 0, "turn_role": "character", "turn_content": [
                         {"role": "Beethoven", "action": "(thinking)", "content": "He means the drinking."},
                         {"role": "Beethoven", "action": "(speaking)", "content": "A strict man, my first teacher."},
                         {"role": "Beethoven", "action": "((speaking)", "content": "I owe him much.<|NONSTOP|>"}]}]}
    [doc], res = read("multiturn_Beethoven/2023.jsonl", jsonl(multiturn))
    assert turns(doc) == [("Man", "What was your father like?"),
                          ("Beethoven", "A strict man, my first teacher. I owe him much.")]
    assert doc.meta == {"format": "character-llm", "character": "Ludwig van Beethoven"}
    assert res.repairs == ["non_speech_action_removed"]
    single = [{"topic_id": "topic-2", "question": "What is your interest?",
               "reply": [{"role": "Beethoven", "action": "(speaking)", "content": "Music, my dear sir."}]}]
    [doc], _ = read("interview_single.json", json.dumps(single))
    assert turns(doc) == [("User", "What is your interest?"), ("Beethoven", "Music, my dear sir.")]
    single[0]["reply"] = single[0]["reply"][0]  # some result files hold one reply object, not a list
    [doc], _ = read("interview_single_alpaca.json", json.dumps(single))
    assert turns(doc) == [("User", "What is your interest?"), ("Beethoven", "Music, my dear sir.")]


def test_character_llm_scenes_and_prompted_sft_output():
    scene = {"setting": ["A tavern in Vienna."], "location": "Vienna", "source": "seed", "dialogue": [
        {"role": "Innkeeper", "action": "(speaking)", "content": "Another glass, Herr Beethoven?"},
        {"role": "Beethoven", "action": "", "content": "Speak up, I cannot hear you."}]}
    [doc], _ = read("scene.json", json.dumps([scene]))
    assert turns(doc) == [("Innkeeper", "Another glass, Herr Beethoven?"), ("Beethoven", "Speak up, I cannot hear you.")]
    prompted = {"prompt": "I want you to act like Beethoven...\n\n",
                "output": "Man (speaking): Tell me about Vienna.<|eot|>\nBeethoven (thinking): Not again.<|eot|>\n"
                          "Beethoven (speaking): Vienna is noisy.\nI love it.<|eot|>", "source": "seed"}
    [doc], res = read("prompted_agent_dialogue_Beethoven.jsonl", jsonl(prompted))
    assert turns(doc) == [("Man", "Tell me about Vienna."), ("Beethoven", "Vienna is noisy. I love it.")]
    assert res.repairs == ["non_speech_action_removed"]


def test_chatharuhi_jsonl_turns_dialogues_and_query_response():
    turn_lines = jsonl({"role": "阿虚", "text": "「你好」"}, {"role": "春日", "text": "「哦，你好。有什么事吗？」"},
                       {"role": "阿虚", "text": "(他挠了挠头)「没什么。」"})
    [doc], res = read("haruhi/dialogues/12ca.jsonl", turn_lines)
    assert turns(doc) == [("阿虚", "你好"), ("春日", "哦，你好。有什么事吗？"), ("阿虚", "没什么。")]
    assert res.repairs == ["stage_directions_removed"]
    dialogues = jsonl({"dialogue": [{"role": "袁正宗", "text": "开学"}, {"role": "春日", "text": "「我对普通的人类没有兴趣。」"}],
                       "source": "user"},
                      {"dialogue": [{"role": "Kyon", "text": "Hello"}, {"role": "Haruhi", "text": "「Who are you?」"}]})
    docs, _ = read("Haruhi-Lulu_Dialogues.jsonl", dialogues)
    assert [turns(d) for d in docs] == [[("袁正宗", "开学"), ("春日", "我对普通的人类没有兴趣。")],
                                        [("Kyon", "Hello"), ("Haruhi", "Who are you?")]]
    novel = [{"role": "张十五", "text": "众位看官，常言道得好。", "if_scene": False},
             {"role": "scene", "text": "一个人抱怨金兵", "if_scene": True},
             {"role": "村民", "text": "张先生，你可是从北方来吗", "if_scene": False}]
    [doc], res = read("reorganized_novel/shediao.jsonl", json.dumps(novel, ensure_ascii=False))
    assert turns(doc) == [("张十五", "众位看官，常言道得好。"), ("村民", "张先生，你可是从北方来吗")]
    assert res.repairs == ["stage_directions_removed"]
    pairs = jsonl({"role_A": "阿虚", "role_B": "春日", "query": "「今天学了Python!」", "response": "「哦？那你帮我写个程序！」",
                   "keywords": ["Python"]})
    [doc], _ = read("all_chat_datas.jsonl", pairs)
    assert turns(doc) == [("阿虚", "今天学了Python!"), ("春日", "哦？那你帮我写个程序！")]


SCRIPT_EN = """'''Scene''':「''All five in Leonard’s car.''」
Leonard:「Is Thai food okay with you Penny?」
Penny:「Sure.」
Sheldon:「We can't have Thai food, we had Indian for lunch.」
Penny:「Any ideas Raj? ''(He just looks at her with a worried expression.)''」
Professor McGonagall:「Surely a sensible person like yourself can call him by his name?」"""

SCRIPT_ZH = """旁白:讨论到棒球比赛的时候，春日一把抱住了朝比奈学姐
朝比奈:「咦？可 可是…」
春日：「嗯？棒球很不错吧？」
春日:(春日指向操场上的棒球场地)「那里」
古泉:「有何不可呢」"""


def test_script_lines_in_english_and_chinese_with_stage_directions_removed():
    [doc], res = read("characters/Penny/texts/text_10.txt", SCRIPT_EN)
    assert doc.meta == {"format": "script"} and turns(doc) == [
        ("Leonard", "Is Thai food okay with you Penny?"), ("Penny", "Sure."),
        ("Sheldon", "We can't have Thai food, we had Indian for lunch."), ("Penny", "Any ideas Raj?"),
        ("Professor McGonagall", "Surely a sensible person like yourself can call him by his name?")]
    assert res.repairs == ["stage_directions_removed"] * 2
    [doc], res = read("haruhi/texts/Haruhi_07__101.txt", SCRIPT_ZH)
    assert turns(doc) == [("朝比奈", "咦？可 可是…"), ("春日", "嗯？棒球很不错吧？ 那里"), ("古泉", "有何不可呢")]
    assert res.repairs == ["stage_directions_removed"] * 2  # the narration line and the pointing
    [doc], _ = read("ハルヒ.txt", "ハルヒ「ただの人間には興味ありません。」\nキョン「……なんだそれ」\n")
    assert turns(doc) == [("ハルヒ", "ただの人間には興味ありません。"), ("キョン", "……なんだそれ")]


def test_japanese_prose_with_a_quotation_is_not_a_script():
    prose = "彼は「はい」と言った。\n私は何も言わなかった。\n海は静かだった。\n"
    [doc], _ = read("prose.txt", prose)
    assert doc.turns is None and doc.text == prose.strip()


def test_a_character_is_the_persona(tmp_path):
    (tmp_path / "train.jsonl").write_text(jsonl(
        {"role": "Sheldon Cooper", "question": "Do you like surprises?",
         "generated": ["No. Surprises are an assault on my carefully planned schedule of the day."], "type": "general"}))
    ws = Workspace(tmp_path / "run").create()
    result = stage.run([SourceConfig(path=tmp_path / "train.jsonl")], [], PersonaConfig(name="Sheldon Cooper"), ws)
    assert result.summary["persona_turn_words"] == 13
    report = json.loads((ws.corpus / "ingest_report.json").read_text())
    assert report["speakers"]["User"] == {"turns": 1, "words": 4, "is_persona": False}
