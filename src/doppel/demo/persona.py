"""The demo persona, Mara Quell, and the generators that write in her voice.

Her voice is built to be measurable: short punchy sentences with the odd long one,
em-dashes and semicolons, rhetorical questions, first person, a handful of catchphrases
(roughly one sentence in three or four carries one) and a set of favourite words that the
background voice never uses. She talks about the same topics as the background, so style,
not subject, is what separates the two.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from doppel.demo.background import SHARED_TOPICS, Slots, Topic, cap, title_case


@dataclass(frozen=True)
class DemoPersona:
    name: str
    aliases: tuple[str, ...]
    description: str
    catchphrases: tuple[str, ...]
    favourite_words: tuple[str, ...]
    interviewer: str

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


DEMO_PERSONA = DemoPersona(
    name="Mara Quell",
    aliases=("Mara", "M. Quell"),
    description=("A retired lighthouse keeper turned podcaster who talks about tides, repair, bread "
                 "and the stubborn small towns of the tidewater coast."),
    catchphrases=("here's the thing", "mark my words", "plain as porridge", "tide comes in, tide goes out",
                  "keep the lamp lit"),
    favourite_words=("stubborn", "tidewater", "honest", "mend", "lantern", "weathered", "gumption",
                     "threadbare", "kettle", "squall", "briny", "lamplight", "driftwood", "steadfast",
                     "shipshape"),
    interviewer="Interviewer",
)

# Her opinions on each shared topic, keyed by Topic.name.
_TRUTHS: dict[str, tuple[str, ...]] = {
    "tides": ("the tide doesn't care what your diary says", "you can't argue with a tide table",
              "the sea keeps better time than any clock in the house", "low water shows you everything a town has dropped",
              "a tide turns whether you're ready or not", "twice a day the harbour gets a second chance"),
    "repair": ("repair beats replace, every single time", "a thing you've mended is a thing you understand",
               "the bin is not a repair shop", "most broken things only want an afternoon and a bit of patience",
               "a mended chair holds more than a person", "they build things to fail now, so we learn to mend them"),
    "libraries": ("a library is the last room in town where nobody asks you to buy anything",
                  "a library card is the cheapest ticket out of a bad week", "librarians are the lighthouse keepers of the high street",
                  "a town without a library forgets its own name", "an overdue book is a book that was loved"),
    "bread": ("bread will not be hurried", "a good loaf forgives a bad morning", "the best bread is the loaf you share",
              "a starter is a pet that pays its rent", "flour, water, salt and time make a whole sermon",
              "shop bread is a promise nobody meant to keep"),
    "boats": ("a wooden boat tells you when she's unhappy", "a boat left on the hard is a boat that's grieving",
              "every hull leaks a little, and so do people", "you don't own a boat, you look after her for a while",
              "varnish is just patience you can see"),
    "weather": ("the weather doesn't read the forecast", "a falling glass is worth more than a dozen apps",
                "there's no bad weather, only thin coats", "the wind always tells you first", "you plan the day and the sky laughs"),
    "fog": ("fog makes honest people of us all", "in fog you learn to listen", "the foghorn was the loneliest voice I ever loved",
            "fog doesn't hide a town, it shows you who stays in", "nobody rushes in fog, and that's the gift of it"),
    "towns": ("small towns are stubborn for good reasons", "a town that keeps its post office keeps its pulse",
              "everybody knows your business, and that's a kind of care", "you don't live in a small town, you belong to it",
              "the high street dies one shuttered shop at a time"),
    "maps": ("a paper map never runs out of battery", "a map is only a guess somebody wrote down carefully",
             "you learn a place by getting lost in it first", "a chart is a promise from the dead to the living",
             "if you can't fold a map, you can't read one"),
    "radio": ("radio is company that doesn't need feeding", "a voice in the dark does more good than a screen in the light",
              "the best radio is the kind you can hear from the kitchen", "a crackle on the line is just the world breathing",
              "I talk into a microphone the way I used to talk to the gulls"),
    "gardens": ("a garden is a slow argument with the weather", "you don't grow vegetables, you negotiate with them",
                "compost is just repair for soil", "seeds you save are seeds that know your ground",
                "the garden punishes hurry and rewards habit"),
    "lighthouses": ("a light kept burning is a promise kept", "keeping a light is mostly polishing and waiting",
                    "every lighthouse is a stubborn little town of one", "the beam was never for me, it was for the stranger out there",
                    "automation saved money and lost something nobody bothered to count"),
    "fishing": ("the sea pays back in its own slow coin", "a net is only as good as the last hole somebody mended",
                "you respect the fish or you don't deserve the catch", "nobody on the quay trusts a man with clean boots",
                "fishing teaches patience faster than any church"),
    "birds": ("gulls are rogues, but they're our rogues", "the birds know the weather a day before the radio does",
              "a gannet diving is the most honest thing I've ever seen", "you count birds to learn how to pay attention",
              "the cliff colony is the noisiest parish on the coast"),
    "winter": ("winter is when a house shows you its faults", "a well-banked fire is a kind of prayer",
               "the cold finds every corner you forgot to fix", "winter evenings are for mending and talking",
               "nobody ever regretted stacking too much firewood"),
    "sea": ("the sea gives back what it wants, when it wants", "you never step into the same swell twice",
            "the sea has no manners and no malice", "sea glass is just a bottle that learned patience",
            "you don't beat the sea, you come to terms with it"),
}
# Opinions with slots, so the same conviction comes out in many concrete forms.
_TEMPLATE_TRUTHS = ("{thing} will outlast the lot of us", "{thing} never once lied to me",
                    "nobody ever regretted learning to {act}", "{thing} asks for attention, not money",
                    "you can't hurry {thing}, and you shouldn't try",
                    "the day we stop bothering to {act} is the day this coast goes quiet",
                    "{thing} is worth ten of anything you'll buy online", "anyone can {act} if they're stubborn enough",
                    "{thing} remembers how you treated it", "if you can {act}, you can do most things",
                    "the world is kinder to people who {act}", "a person who'll {act} {when} is a person you can trust",
                    "{thing} is the best teacher on this coast")
_GENERAL_TRUTHS = ("repair beats replace", "small things done daily keep a place alive", "patience is a tool like any other",
                   "if you look after things, they look after you", "nothing worth keeping is ever finished",
                   "the old ways weren't perfect, but they were paid for", "an honest job is never wasted")

_POOLS = {
    "gtruth": _GENERAL_TRUTHS,
    "fadj": ("stubborn", "honest", "steadfast", "weathered"),
    "person": ("my mother", "my father", "old Ezra at the boatyard", "the harbourmaster", "my neighbour Bet",
               "the relief keeper", "my grandmother", "a fisherman called Tam"),
    "when": ("every Sunday", "most mornings", "when the glass drops", "after supper", "by lamplight",
             "before the kettle's boiled", "in any weather", "whenever the fog comes in", "on the first spring tide of the year"),
    "ending": ("even when nobody's looking", "whatever the town says", "and you don't ask for thanks",
               "because somebody out there needs it", "and you let the rest go hang"),
    "dark": ("the dark", "a night like this", "the fog", "the stranger out there", "a squall", "the long nights"),
    "place": ("on the point", "down on the quay", "in tidewater country", "at the lighthouse", "in our village",
              "along this coast", "at the chandlery"),
}

# Sentence frames by kind. A frame may hold two sentences; {Key} capitalises {key}.
_CATCH = (
    "Here's the thing — {truth}.", "Here's the thing. {Truth}.", "Here's the thing about {subject} — {truth}.",
    "{Truth}, mark my words.", "Mark my words — {truth}.", "{Truth}. Mark my words.",
    "It's plain as porridge — {truth}.", "{Truth}; plain as porridge.", "Plain as porridge, that one.",
    "Tide comes in, tide goes out — {truth}.", "Tide comes in, tide goes out, and I still {act} {when}.",
    "Tide comes in, tide goes out; {truth}.", "Keep the lamp lit, {act}, and let the rest take care of itself.",
    "You keep the lamp lit {place}, {ending}.", "You keep the lamp lit {when}, {ending}.", "Keep the lamp lit; {truth}.",
    "{Person} said it first — {truth}, mark my words.", "Here's the thing — nobody ever regretted learning to {act}.",
    "Tide comes in, tide goes out, and {thing} is still worth the trouble.",
    "Here's the thing, though; I'd still {act} {when}.",
    "If you ask me {place} — and people do — keep the lamp lit and {act}.", "I say keep the lamp lit and {act} anyway.",
)
_SHORT = (
    "{Truth}.", "{Truth}.", "{Gtruth}.", "Simple as that.", "Nothing fancy.", "I mean it.", "Every time.", "Don't laugh.",
    "Put the kettle on.", "That's {subject} for you.", "Ask anyone {place}.", "It takes gumption.", "Keep it shipshape.",
    "Mend it, don't bin it.", "Trust me on this.", "Not me.", "{Thing} is an honest thing.", "I trust {thing}.",
    "Stubborn, yes. Wrong, no.", "Squalls pass.", "When did you last {act}?", "What would {person} say?",
)
_FIRST = (
    "I still {act} {when}.", "I learned to {act} from {person}.",
    "{Person} taught me to {act}, and I've never found a better teacher.",
    "I kept the light on Carrick Point for thirty-one years, and {thing} was never far from my mind.",
    "When I was keeper, I'd {act} by lantern light.", "My hands still remember how to {act}.",
    "I think about {subject} more than is probably healthy.", "I'm not sentimental about {subject}; I'm just honest about it.",
    "My coat's threadbare and my boots are weathered, but I can still {act}.",
    "I think of {thing} whenever I pick up driftwood on the beach.",
    "I wrote about {thing} in the logbook more than once.", "My late husband Tom couldn't {act} to save his life, bless him.",
    "I learned more from {thing} than from any book.", "Listeners send me letters about {thing}, and I answer every one.",
    "I'll {act} until my knees give out.", "I've had {thing} on my mind all week.",
)
_DASH = (
    "{Thing} — {fadj}, plain, and worth every minute.", "I learned to {act} the hard way — by getting it wrong for years.",
    "Some folk {act} with a phone in one hand — not me.",
    "You can learn to {act} in an afternoon — or in a lifetime, if you're honest about it.",
    "{Subject} taught me more than school ever did — and school tried.",
    "{Person} used to say that {truth} — and nobody ever proved otherwise.",
    "Here in tidewater country we {act} {when} — it's how things are done.",
    "A squall comes through — and {thing} is the first thing I check.",
    "{Person} — stubborn as a gull — never once let me skip a chance to {act}.",
    "Give me {thing} over a screen any day — any day at all.",
)
_SEMI = (
    "{Truth}; {truth2}.", "I don't {act} for the money; I do it because it keeps me honest.",
    "Some call {thing} old-fashioned; I call it paying attention.", "The young ones want it quick; {subject} won't be quick.",
    "The briny air gets into everything; {subject} got into me the same way.",
    "{Thing} isn't glamorous; it's honest.", "I've mended worse; I'll mend {thing} too, given an afternoon.",
)
_QUESTION = (
    "And who has time to {act} anymore?", "What's the hurry?", "Isn't that the whole point?",
    "Who decided {subject} belonged in a museum?", "Do we really need an app to tell us how to {act}?",
    "What's a lantern for, if not for {dark}?", "Where's the harm in learning to {act}?",
    "Why do we make {subject} so complicated?", "Who taught you to {act}, if anyone?", "Why would anyone give that up?",
)
_LONG = (
    "There was a winter on the point when the squall didn't let up for nine days, and I sat by the lantern with {thing} "
    "on the table, thinking that {truth}, and I haven't changed my mind since.",
    "People come down from the city and see {thing} and think it's quaint, but it isn't quaint at all; it's a stubborn "
    "kind of knowledge that took generations to gather, and it goes the moment nobody bothers to {act}.",
    "When the kettle's on and the driftwood's crackling and the glass is falling, I'll sit and {act}, and I'll think "
    "about {person}, who always said that {gtruth}.",
    "I've spent sixty-odd years watching people {act}, and the ones who do it well are never the ones in a hurry; they're "
    "the ones who come back the next day, and the day after that.",
)
# Weights tuned so that about one sentence in three or four carries a catchphrase.
_KINDS = ((_CATCH, 36), (_SHORT, 22), (_FIRST, 17), (_DASH, 12), (_SEMI, 7), (_QUESTION, 10), (_LONG, 4))
_KIND_TABLES = tuple(k for k, _ in _KINDS)
_KIND_WEIGHTS = tuple(w for _, w in _KINDS)

TOPICS: tuple[Topic, ...] = SHARED_TOPICS


def _slots(rng: random.Random, topic: Topic) -> Slots:
    # Her fixed opinions weigh double against the slot-filled ones.
    return Slots(rng, topic, extra={**_POOLS, "truth": _TRUTHS[topic.name] * 2 + _TEMPLATE_TRUTHS})


def sentence(rng: random.Random, topic: Topic, used: set[str] | None = None) -> str:
    """One unit of her speech about `topic` (occasionally two short sentences).

    Frames already in `used` are redrawn once, so a paragraph rarely repeats itself.
    """
    frame = rng.choice(rng.choices(_KIND_TABLES, weights=_KIND_WEIGHTS)[0])
    if used is not None:
        if frame in used:
            frame = rng.choice(rng.choices(_KIND_TABLES, weights=_KIND_WEIGHTS)[0])
        used.add(frame)
    return cap(frame.format_map(_slots(rng, topic)))


def sentences(rng: random.Random, topic: Topic, count: int) -> list[str]:
    used: set[str] = set()
    return [sentence(rng, topic, used) for _ in range(count)]


def paragraph(rng: random.Random, topic: Topic, lo: int = 4, hi: int = 8) -> str:
    return " ".join(sentences(rng, topic, rng.randint(lo, hi)))


_ESSAY_TITLES = ("On {S}", "What {T} Taught Me", "In Defence of {S}", "Notes on {S}", "{S}, and Why I Won't Stop",
                 "The Case for {T}", "A Few Words About {S}", "Stubborn Thoughts on {S}", "Lamplight and {S}",
                 "Letters Home About {S}")
_ESSAY_HEADINGS = ("Where It Starts", "What I Learned on the Point", "The Stubborn Part", "Why It Matters",
                   "Mending", "A Word About {S}", "By Lamplight", "The Honest Version", "What Comes Next",
                   "Tidewater Rules")


def essay(rng: random.Random, topic: Topic) -> tuple[str, list[str]]:
    """(title, blocks) for one essay; blocks are paragraphs and '# heading' lines."""
    fill = {"S": title_case(topic.subject), "T": title_case(rng.choice(topic.things))}
    title = rng.choice(_ESSAY_TITLES).format_map(fill)
    blocks = [paragraph(rng, topic)]
    for heading in rng.sample(_ESSAY_HEADINGS, rng.randint(3, 5)):
        blocks.append("# " + heading.format_map(fill))
        for _ in range(rng.randint(8, 11)):
            # She digresses: now and then a paragraph drifts to a neighbouring topic.
            t = topic if rng.random() < 0.75 else rng.choice(TOPICS)
            blocks.append(paragraph(rng, t))
    return title, blocks


_QUESTIONS = (
    "What is it about {subject} that keeps pulling you back?", "Tell me about {thing}.",
    "You talk a lot about {subject}. Why does it matter so much to you?", "How did you first get interested in {subject}?",
    "When it comes to {subject}, is there a right way to {act}?",
    "What would you say to someone who's never thought much about {subject}?",
    "Why do you think people care less about {subject} these days?", "What's the biggest mistake people make with {subject}?",
    "Do you still think about {thing} much?", "What did the lighthouse years teach you about {subject}?",
    "A listener wrote in about {thing}. What do you make of that?",
    "If you could change one thing about {subject}, what would it be?", "What's your earliest memory of {thing}?",
    "Can you learn {subject} from a book, or do you have to live it?", "How has {subject} changed since you were young?",
    "Let's talk about {subject}. Where would you start?", "People call {subject} old-fashioned. Are they wrong?",
    "What would you tell a young person about {subject}?", "Is {thing} worth the trouble?",
    "Some people would say {thing} belongs in a museum. What would you tell them?",
    "You once said something about {thing} that stuck with me. Can you say more?", "Why {subject}, of all things?",
)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_FOLLOW_UPS = ("Go on.", "Why's that?", "Say more.", "How so?", "Really?")
# Every opening names the subject or a thing, so each answer is visibly on its question's topic.
_OPENINGS = (
    "Oh, {subject}.", "Ah, {thing}.", "{Subject}? Where do I start.", "I've thought about {subject} my whole life.",
    "{Subject}, good question; {truth}.", "{Thing}? That's a story.", "Let me tell you about {thing}.",
    "You've asked the right woman about {subject}.", "I could talk about {subject} all day.", "Honestly, {subject}? {Truth}.",
    "{Subject}? Mark my words — {truth}.", "Here's the thing about {subject}; {truth}.", "Ah, {thing}. Plain as porridge, that one.",
    "Tide comes in, tide goes out, and {subject} still matters.",
)


def _sentence_count(text: str) -> int:
    return len(_SENTENCE_END.findall(text))


def _answer(rng: random.Random, topic: Topic, count: int, opening: bool) -> str:
    """An answer of exactly `count` sentences (a frame may hold two, so some are redrawn)."""
    parts = [cap(rng.choice(_OPENINGS).format_map(_slots(rng, topic)))] if opening else []
    used: set[str] = set()
    total = sum(_sentence_count(p) for p in parts)
    while total < count:
        unit = sentence(rng, topic, used)
        if total + _sentence_count(unit) <= count:
            parts.append(unit)
            total += _sentence_count(unit)
    return " ".join(parts)


def interview(rng: random.Random, topics: list[Topic], exchanges: int, label: str,
              interviewer: str = DEMO_PERSONA.interviewer) -> list[tuple[str, str]]:
    """Alternating (speaker, text) turns: each question and its answer share one topic.

    `exchanges` counts interviewer turns that get an answer, follow-ups included.
    """
    turns: list[tuple[str, str]] = []
    while len(turns) < 2 * exchanges:
        topic = rng.choice(topics)
        turns.append((interviewer, cap(rng.choice(_QUESTIONS).format_map(_slots(rng, topic)))))
        if len(turns) + 2 < 2 * exchanges and rng.random() < 0.1:
            # A short nudge mid-answer, as a real host does when a guest pauses.
            turns.append((label, _answer(rng, topic, rng.randint(2, 3), opening=True)))
            turns.append((interviewer, rng.choice(_FOLLOW_UPS)))
            turns.append((label, _answer(rng, topic, rng.randint(2, 4), opening=False)))
        else:
            turns.append((label, _answer(rng, topic, rng.randint(2, 6), opening=True)))
    return turns


_NOTE_HEADERS = ("Notes from the point, week {n}", "The tidewater letter, number {n}", "Kitchen table notes {n}",
                 "From the quay, letter {n}")
_SIGN_OFFS = ("Keep the lamp lit,\nMara", "Mend something this week.\nMara", "Put the kettle on.\nM.",
              "Tide comes in, tide goes out.\nMara")


def note(rng: random.Random, topics: list[Topic], number: int) -> list[str]:
    """Blocks of a plain-text newsletter post: header, short paragraphs, a sign-off."""
    blocks = [rng.choice(_NOTE_HEADERS).format(n=number)]
    for _ in range(rng.randint(21, 27)):
        blocks.append(paragraph(rng, rng.choice(topics), 3, 6))
    blocks.append(rng.choice(_SIGN_OFFS))
    return blocks
