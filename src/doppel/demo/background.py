"""The neutral background voice of the demo corpus, and the topic vocabulary both voices share.

The background reads like an encyclopedia or a local newspaper: long, impersonal sentences,
no em-dashes, no catchphrases and none of the persona's favourite words. It covers the
persona's topics and a few more, so that a model has to tell the voices apart by style
rather than by subject. Everything is template filling driven by a caller's
`random.Random`, so the same generator state always yields the same text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """One subject both voices can talk about.

    `subject` must read well after "about" ("bread", "the tides"); `things` are singular
    noun phrases and `acts` bare verb phrases, so templates never need verb agreement.
    Every subject and thing contains one of the `keywords`, which is what keeps an
    interview question and its answer recognisably on the same topic.
    """

    name: str
    subject: str
    keywords: tuple[str, ...]
    things: tuple[str, ...]
    acts: tuple[str, ...]
    facts: tuple[str, ...]


def _topic(name: str, subject: str, keywords: str, things: str, acts: str, facts: str) -> Topic:
    def split(s: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in s.split(";") if part.strip())

    return Topic(name, subject, split(keywords), split(things), split(acts), split(facts))


# The persona's topics. Kept free of her favourite words: the background draws on them too.
SHARED_TOPICS: tuple[Topic, ...] = (
    _topic("tides", "the tides", "tide; tidal; harbour; water; mudflat",
           "the spring tide; a tide table; the harbour wall; the low-water mark; a neap tide; the tide gauge by the slipway; the mudflat at low water",
           "read a tide table; walk the mudflat at low water; wait for the flood tide; time a crossing to the tide; watch the water climb the harbour steps",
           "the tidal range in the estuary can exceed seven metres during spring tides; tide tables were once printed by local newspapers and sold at harbour offices; the pull of the moon accounts for most of the daily tidal cycle; tidal surges are most dangerous when strong onshore winds coincide with high water; many harbours still record the height of high water on a painted gauge"),
    _topic("repair", "repair", "repair; broken; fix; workshop; chair; radio; sail; boot; bicycle; toaster; teapot",
           "a cracked teapot; a radio with a loose valve; a torn sail; a wobbly kitchen chair; a boot with a split seam; a bicycle with a buckled wheel; a toaster from the seventies",
           "patch an old coat; solder a broken wire; glue a loose chair leg; replace the washer in a dripping tap; sharpen an old chisel",
           "repair cafés have opened in a number of towns over the past decade; manufacturers have been criticised for designing products that are difficult to open; spare parts for older appliances are increasingly sold by independent suppliers; several countries have introduced right-to-repair legislation for household electronics; a repaired item generally has a lower environmental cost than a new replacement"),
    _topic("libraries", "libraries", "librar; book; novel; reading; atlas; shelf",
           "the library on the quay; a library card; an overdue novel; the reading room; a shelf of local history; the mobile library van; a dog-eared atlas",
           "borrow a book; return a novel three weeks late; sit in the reading room; ask a librarian for help; browse the local history shelf",
           "public libraries in many regions have reduced their opening hours since 2010; the mobile library service once reached farms and villages far from any town; library membership tends to rise during periods of economic difficulty; many branch libraries now also serve as community centres and advice points; local history collections often include parish registers, photographs and old maps"),
    _topic("bread", "bread", "bread; loaf; dough; flour; bakery; oven; starter; crust; proving",
           "a loaf of rye bread; a sourdough starter; the village bakery; a warm crust; a sack of flour; a proving basket; the bread oven",
           "knead the dough; bake a loaf before dawn; feed the starter; slice the bread thick; let the dough rise overnight",
           "rye flour absorbs considerably more water than wheat flour; commercial bakeries account for most of the bread sold in the region; sourdough relies on wild yeasts and bacteria rather than commercial yeast; communal bread ovens were common in rural villages until the early twentieth century; the price of a standard loaf has long been used as an informal measure of living costs"),
    _topic("boats", "small boats", "boat; hull; dinghy; mooring; boatyard; slipway; motor; varnish",
           "a clinker-built dinghy; a small fishing boat; a wooden hull; an outboard motor; a mooring rope; the boatyard; a fresh coat of varnish",
           "row across the bay; haul a boat up the slipway; varnish a wooden hull; tie off a mooring rope; caulk the seams of a hull",
           "clinker construction uses overlapping planks fastened with copper rivets; the number of working boatyards on the coast has fallen sharply since the 1970s; wooden hulls require regular maintenance to prevent rot and worm damage; fibreglass largely replaced timber in small boat construction after the 1960s; traditional boatbuilding skills are now taught in a handful of specialist colleges"),
    _topic("weather", "the weather", "weather; wind; rain; forecast; barometer; cloud; downpour; frost",
           "a brass barometer; the shipping forecast; a westerly wind; a sudden downpour; a falling barometer; a clear frosty morning; the weather station on the headland",
           "tap the barometer; listen to the forecast; watch the clouds build; record the rainfall; check the wind direction",
           "the shipping forecast has been broadcast several times a day for over a century; coastal weather stations record wind speed, pressure and rainfall at regular intervals; a rapid fall in air pressure usually indicates an approaching depression; prevailing westerly winds bring most of the region's rainfall; long-term rainfall records show considerable variation from one decade to the next"),
    _topic("fog", "fog", "fog; mist; grey",
           "a sea fog; the foghorn; a bank of fog; the fog bell; a grey morning; the harbour mist",
           "sound the foghorn; wait for the fog to lift; walk home through the fog; steer by compass in fog; listen for the fog bell",
           "sea fog forms when warm, moist air moves over colder water; fog signals were gradually automated during the second half of the twentieth century; visibility below one kilometre is classified as fog by most meteorological services; coastal fog is most frequent in late spring and early summer; the introduction of radar greatly reduced collisions in conditions of poor visibility"),
    _topic("towns", "small towns", "town; village; high street; post office; shop; council; parish; bus",
           "the high street; the post office; a parish noticeboard; the village hall; the corner shop; a town council meeting; the bus that comes twice a day",
           "shop on the high street; attend a council meeting; chat with the neighbours over the fence; organise a village fete; keep the post office open",
           "many small towns have lost their banks, post offices and bus services since the 1990s; the population of coastal towns tends to be older than the national average; community-owned shops have opened in several villages after commercial closures; second homes account for a significant share of housing in some coastal parishes; market towns historically served as trading centres for the surrounding farms"),
    _topic("maps", "maps", "map; chart; compass; contour; atlas",
           "a folded paper map; a nautical chart; a hand-drawn map; the compass rose; a contour line; an atlas from the fifties; a survey map of the parish",
           "fold a map properly; read a nautical chart; draw a map of the harbour; plot a course by hand; mark a footpath on a map",
           "nautical charts record depths, hazards and the positions of lights and buoys; the first detailed national surveys were carried out for military purposes; contour lines connect points of equal height above sea level; digital mapping has largely replaced printed maps for everyday navigation; old estate maps are a valuable source for the history of field boundaries"),
    _topic("radio", "the radio", "radio; broadcast; signal; microphone; station; aerial; phone-in; receiver",
           "a valve radio; a late-night phone-in; a shortwave receiver; the local radio station; a crackling signal; a second-hand microphone; a tall aerial on the roof",
           "tune a shortwave set; record an episode; speak into a microphone; listen to a late broadcast; adjust the aerial",
           "local radio stations expanded rapidly in the 1970s and 1980s; coast radio stations once maintained a continuous watch on distress frequencies; valve receivers were gradually replaced by transistor sets from the late 1950s; podcasting has brought many former radio formats to a new audience; signal quality in hilly coastal areas is often affected by the terrain"),
    _topic("gardens", "gardens", "garden; seed; compost; soil; vegetable; bean; apple; greenhouse; shed",
           "a vegetable patch; a row of runner beans; a compost heap; a garden shed; a packet of seeds; an old apple tree; a lean-to greenhouse",
           "plant potatoes; turn the compost; save seeds for next year; prune an apple tree; dig a new bed",
           "allotment waiting lists have grown considerably in many towns; coastal gardens must contend with wind exposure and salt spray; composting reduces the volume of household waste sent to landfill; heritage seed libraries preserve varieties no longer sold commercially; apple trees are usually pruned in winter while they are dormant"),
    _topic("lighthouses", "lighthouses", "lighthouse; lens; lamp; beam; keeper; staircase; logbook; brass",
           "the lighthouse on the point; the lamp room; a Fresnel lens; the spiral staircase; the keeper's logbook; a brass fitting; the lighthouse beam",
           "climb the spiral staircase; polish the lens; write up the logbook; trim the wick; watch the beam sweep the water",
           "most lighthouses on the coast were automated between the 1980s and the late 1990s; the Fresnel lens allowed a relatively small lamp to be seen over great distances; each lighthouse has a distinctive pattern of flashes known as its character; keepers traditionally worked in rotating shifts and recorded conditions in a logbook; several former lighthouses have been converted into museums or holiday accommodation"),
    _topic("fishing", "fishing", "fish; catch; net; pot; trawler; mackerel; bait",
           "a lobster pot; a mackerel line; the fish market; a trawler; a net drying on the quay; a bucket of bait; the morning catch",
           "set lobster pots; gut a mackerel; land a catch; check the pots at dawn; repair a torn net",
           "the inshore fishing fleet has declined in numbers but remains economically important to many harbours; catch quotas are set annually and divided among fleets and vessel categories; lobster fishing is regulated by minimum landing sizes; fish markets traditionally opened before dawn to supply inland buyers; mackerel are caught in large numbers during their summer migration"),
    _topic("birds", "seabirds", "bird; seabird; gull; cormorant; oystercatcher; puffin; binoculars; gannet",
           "a herring gull; a cormorant on the rocks; a flock of oystercatchers; a puffin burrow; a pair of binoculars; a diving gannet; the gull colony on the cliff",
           "count the gulls; watch gannets dive; keep a bird diary; identify a call; put out seed in winter",
           "seabird populations are monitored through annual counts at breeding colonies; gannets can dive from heights of thirty metres or more; herring gull numbers have declined at many coastal colonies while increasing in some towns; puffins nest in burrows on grassy cliff tops and offshore islands; changes in fish stocks have a direct effect on seabird breeding success"),
    _topic("winter", "winter", "winter; frost; cold; stove; snow; firewood; jumper; shutter; pipe; evening",
           "a coal stove; a hard frost; a long dark evening; a wool jumper; a storm shutter; a frozen pipe; a stack of firewood",
           "light the stove; stack firewood; lag the pipes; bank the fire for the night; shovel snow from the path",
           "heating costs account for a larger share of household spending during the winter months; coastal areas generally experience milder winters than inland districts; frozen pipes are among the most common causes of household insurance claims; the winter of 1963 is still remembered as one of the coldest on record; solid fuel stoves remain common in rural homes without mains gas"),
    _topic("sea", "the sea", "sea; swell; wave; shore; rock pool; beach",
           "the open sea; a swell from the west; a rocky shore; a rock pool; a piece of sea glass; a breaking wave; the long sandy beach",
           "swim in the sea; walk the shoreline; collect sea glass; watch the swell; read the colour of the water",
           "sea surface temperatures along the coast vary by several degrees between summer and winter; coastal erosion has accelerated in places where protective dunes have been removed; rock pools support a wide range of species adapted to changing conditions; open-water swimming has grown in popularity over the past decade; long-period swells are generated by distant storms far out in the ocean"),
)

# Topics only the background covers, so its range is wider than hers.
EXTRA_TOPICS: tuple[Topic, ...] = (
    _topic("bridges", "bridges", "bridge; footbridge; viaduct",
           "a stone arch bridge; a suspension bridge; a timber footbridge; the old toll bridge; a swing bridge over the dock; a railway viaduct",
           "cross the river; inspect the bearings; repoint the stonework; collect a toll; open the swing bridge",
           "many stone arch bridges in the region date from the eighteenth century; toll collection on most river crossings ended during the twentieth century; suspension bridges require regular inspection of their cables and anchorages; several railway viaducts have been converted into footpaths and cycle routes; flood damage is the most common cause of failure in older bridges"),
    _topic("clocks", "clocks", "clock; watch; chronometer; pendulum",
           "a pendulum clock; the church clock; a pocket watch; a clockmaker's workshop; a marine chronometer; the town hall clock",
           "wind the clock; regulate the pendulum; set the time by the radio signal; clean the movement; replace a worn spring",
           "the adoption of railway time standardised clocks across the country in the nineteenth century; marine chronometers made it possible to determine longitude at sea; church clocks were often wound by hand until electric systems were installed; the number of working clockmakers has declined steadily since the 1950s; a pendulum clock must be regulated after it has been moved"),
    _topic("bees", "bees", "bee; hive; honey; swarm; colony",
           "a wooden hive; a honeycomb frame; a swarm of bees; a jar of heather honey; a beekeeper's veil; the queen bee",
           "inspect the hive; extract the honey; catch a swarm; plant wildflowers for bees; feed the colony in autumn",
           "honey bee colonies have been affected by parasites, disease and the loss of wildflower habitat; heather honey is produced from late summer flowers on upland moors; local beekeeping associations offer training to new members; a healthy colony may contain tens of thousands of worker bees at the height of summer; wild bees are responsible for a large share of crop pollination"),
    _topic("pottery", "pottery", "pot; clay; kiln; glaze; jug; bowl; wheel",
           "a stoneware jug; the pottery kiln; a potter's wheel; a bag of clay; a glazed bowl; a kiln shelf",
           "throw a pot on the wheel; fire the kiln; mix a glaze; wedge the clay; trim a bowl",
           "stoneware is fired at higher temperatures than earthenware and is less porous; many rural potteries closed when factory-made tableware became cheaper; local clay deposits determined where early potteries were established; wood-fired kilns require continuous attention over several days; studio pottery became popular in the second half of the twentieth century"),
    _topic("rivers", "rivers", "river; estuary; weir; bank; flood; ferry; meadow",
           "the river estuary; a weir; the river bank; a flood barrier; a ferry crossing; a water meadow",
           "measure the river level; restore the river bank; operate the ferry; clear the weir; monitor the water quality",
           "river levels are monitored continuously at gauging stations along the main channel; water meadows were deliberately flooded in spring to encourage early grass growth; several river ferries have been replaced by bridges since the 1960s; estuaries provide important feeding grounds for migrating wading birds; agricultural runoff remains a significant source of river pollution"),
    _topic("railways", "railways", "railway; train; station; line; track; signal box; crossing; timetable; locomotive",
           "the branch line; a steam locomotive; the station platform; a signal box; a level crossing; the railway timetable",
           "catch the morning train; maintain the track; operate the signal box; reopen the branch line; print the timetable",
           "many rural branch lines were closed during the 1960s following a national review; the arrival of the railway transformed the economy of several coastal resorts; mechanical signal boxes have largely been replaced by centralised control centres; heritage railways are operated mainly by volunteers; passenger numbers on regional lines have risen over the past two decades"),
    _topic("textiles", "textiles", "textile; wool; cloth; loom; handloom; yarn; blanket; tweed; spinning",
           "a handloom; a skein of yarn; a woollen blanket; the textile mill; a spinning wheel; a bolt of tweed",
           "weave a length of cloth; spin yarn; dye wool with plants; card the fleece; knit a jumper",
           "the woollen industry was once the largest employer in several upland valleys; handloom weaving declined rapidly after the introduction of power looms; natural dyes were obtained from lichens, roots and bark; many former textile mills have been converted into housing and offices; tweed production remains an important export for some island communities"),
    _topic("astronomy", "astronomy", "astronom; star; telescope; sky; planet; meteor; observatory; moon",
           "a small telescope; the night sky; a star chart; the planet Jupiter; a meteor shower; the observatory",
           "observe the stars; set up a telescope; photograph the moon; find the pole star; record a meteor shower",
           "light pollution has reduced the number of stars visible from most towns; several rural areas have been designated as dark sky reserves; amateur observers continue to contribute useful records of variable stars; meteor showers occur when the earth passes through debris left by comets; early navigators relied on the positions of stars to determine latitude"),
)

ALL_TOPICS: tuple[Topic, ...] = SHARED_TOPICS + EXTRA_TOPICS

_OPENERS = ("In many coastal districts", "During the nineteenth century", "According to regional surveys",
            "For much of the twentieth century", "In recent decades", "Since the end of the Second World War",
            "In the early modern period", "Across much of northern Europe", "In the years following the war",
            "Throughout the interwar period", "In most rural parishes", "According to contemporary accounts",
            "In comparison with neighbouring regions", "By the late 1950s", "Over the past thirty years")
_SOURCES = ("the county record office", "a regional heritage trust", "the harbour commissioners",
            "the local newspaper archive", "a university research group", "the national statistics office",
            "the diocesan archive", "a coastal monitoring programme", "an independent review panel",
            "the maritime museum", "the regional development agency", "a local history society")
_REGIONS = ("the northern counties", "the western peninsula", "several island communities", "the estuary towns",
            "the upland parishes", "the eastern seaboard", "the southern coast", "the river valleys",
            "the former mining districts", "the outer islands")
_GROUPS = ("local residents", "older residents", "visitors", "volunteers", "small businesses",
           "younger households", "community groups", "retired workers", "schoolchildren", "independent traders")
_ADJS = ("significant", "widespread", "gradual", "considerable", "uneven", "limited", "substantial",
         "modest", "notable", "persistent")
_PERIODS = ("the 1930s", "the postwar years", "the 1960s", "the 1980s", "the early 2000s",
            "the Victorian period", "the interwar years", "the 1970s")
_CHANNELS = ("television programmes and evening classes", "a growing number of online forums",
             "local museums and heritage open days", "articles in the regional press", "adult education courses",
             "community radio programmes", "school projects and travelling exhibitions")
_CAUSES = ("changing patterns of employment", "rising property prices", "the closure of local industries",
           "competition from larger towns", "the loss of public transport", "an ageing population",
           "the growth of out-of-town retail", "reductions in public funding")
_NO_LINK = ("By contrast", "Although", "According", "Comparable")
_LINKS = ("However, ", "In addition, ", "Moreover, ", "Nevertheless, ", "Similarly, ", "As a result, ",
          "At the same time, ", "In practice, ")

# Each template is one sentence. {Key} is the capitalised form of {key}.
_SENTENCES = (
    "{Opener}, {fact}.",
    "{Opener}, {thing} was regarded as an ordinary part of daily life, particularly in communities where {fact}.",
    "Records held by {source} indicate that the number of {group} who continued to {act} declined steadily between {y1} and {y2}.",
    "A survey published in {year} found that approximately {pct} percent of respondents had tried to {act} at least once during the previous year.",
    "Researchers have argued that interest in {subject} tends to increase during periods of economic uncertainty, when {group} look for practical ways to {act}.",
    "It is generally accepted that {fact}, although the evidence from {region} is less consistent than is sometimes assumed.",
    "{Thing} appears frequently in documents preserved by {source}, which suggests that it was a familiar feature of the local economy in {period}.",
    "The relationship between {subject} and {other} has received comparatively little attention from historians, despite the {adj} overlap between the two.",
    "Observers writing in {year} noted that {fact}, and a similar pattern has been described in {region}.",
    "Local authorities in {region} introduced several measures intended to support {subject}, including small grants, training schemes and revised planning guidance.",
    "In {region}, the knowledge needed to {act} was traditionally passed from one generation to the next, usually within families and occasionally through formal apprenticeships.",
    "Critics have pointed out that {fact}, which complicates any simple account of how {subject} developed in {region}.",
    "Further information about {thing} can be found in documents held by {source}, many of which have been digitised in recent years.",
    "In a report published in {year}, {source} concluded that {fact}.",
    "The decline of {subject} in {region} is often attributed to {cause}, although {cause2} also played a part.",
    "By contrast, {thing} remained in regular use in {region} until well into {period}.",
    "Estimates suggest that {group} spend an average of {num} hours each month on activities connected with {subject}.",
    "Museum collections in {region} include examples of {thing}, together with photographs and written accounts from {period}.",
    "Interest in {subject} among {group} has also been encouraged by {channel}, particularly since {period}.",
    "Some {group} regard {thing} as a symbol of continuity, while others see it primarily as a practical object with a limited working life.",
    "The ability to {act} was once considered an ordinary skill in {region}, but it is now practised by a relatively small number of {group}.",
    "According to {source}, {fact}.",
    "Comparable developments were recorded in {region}, where {fact}.",
    "The cost of materials has risen by an estimated {pct} percent since {year}, placing additional pressure on {group} who wish to {act}.",
    "Although {fact}, the picture in {region} remains complex and is the subject of continuing research by {source}.",
    "Oral history projects have recorded the recollections of {group} who learned to {act} during {period}.",
    "In {region}, {subject} has been shaped as much by local custom as by national policy, and the two have not always been easy to reconcile since {period}.",
    "Visitors to {region} frequently remark on {thing}, which is often featured in guidebooks and promotional material.",
    "Data collected between {y1} and {y2} show a {adj} change in the number of {group} involved with {subject}.",
    "Public consultation carried out by {source} in {year} found {adj} support for measures to protect {thing}.",
    "The available figures suggest that around {pct} percent of {group} in {region} have some direct experience of {subject}.",
    "It should be noted that {thing} was not always described consistently by {source}, and older accounts frequently use regional terms that are no longer widely understood.",
)


def cap(text: str) -> str:
    """Upper-case the first character only (str.capitalize would lower the rest)."""
    return text[:1].upper() + text[1:]


class Slots(dict):
    """Template slots filled on first use, so a template only pays for the slots it names.

    A capitalised key ({Thing}) reuses the lower-case value ({thing}) drawn for the same
    sentence, so one sentence never mentions two different things by accident.
    """

    def __init__(self, rng: random.Random, topic: Topic, extra=None):
        super().__init__()
        self.rng, self.topic = rng, topic
        self.extra = extra or {}

    def draw(self, key: str):
        rng, t = self.rng, self.topic
        base = key.rstrip("0123456789")
        pools = {"thing": t.things, "act": t.acts, "fact": t.facts, "opener": _OPENERS, "source": _SOURCES,
                 "region": _REGIONS, "group": _GROUPS, "adj": _ADJS, "period": _PERIODS, "channel": _CHANNELS,
                 "cause": _CAUSES, **self.extra}
        if base in pools:
            pool = pools[base]
            if base != key and base in self:
                # {truth2} beside {truth}: never say the same thing twice in one sentence.
                pool = [p for p in pool if p != self[base]] or pool
            value = rng.choice(pool)
            # Pool entries may be templates themselves; they share this sentence's slots.
            return value.format_map(self) if "{" in value else value
        if base == "subject":
            return t.subject
        if base == "other":
            return rng.choice([o for o in ALL_TOPICS if o is not t]).subject
        if key == "y1":
            return str(rng.randint(1950, 1995))
        if key == "y2":
            return str(rng.randint(1996, 2023))
        numbers = {"year": (1978, 2023), "pct": (12, 78), "num": (3, 19)}
        lo, hi = numbers[base]
        return str(rng.randint(lo, hi))

    def __missing__(self, key: str) -> str:
        if key[:1].isupper():
            value = cap(self[key[:1].lower() + key[1:]])
        else:
            value = self.draw(key)
        self[key] = value
        return value


def sentence(rng: random.Random, topic: Topic) -> str:
    """One neutral, fairly long sentence about `topic`."""
    text = rng.choice(_SENTENCES).format_map(Slots(rng, topic))
    if rng.random() < 0.15 and not text.startswith(_NO_LINK):
        # A linking adverb now and then makes paragraphs read as connected prose.
        text = rng.choice(_LINKS) + text[:1].lower() + text[1:]
    return cap(text)


def paragraph(rng: random.Random, topic: Topic, lo: int = 4, hi: int = 7) -> str:
    return " ".join(sentence(rng, topic) for _ in range(rng.randint(lo, hi)))


_HEADINGS = ("Overview", "Historical background", "Developments in the twentieth century", "Current practice",
             "Economic aspects", "Regional variation", "Public policy", "Records and research", "Outlook")
_TITLES = ("A Short History of {S}", "{S} in Coastal Communities", "Recent Trends in {S}",
           "{S} and the Local Economy", "Notes Toward a History of {S}", "{S} Since the War",
           "The Changing Place of {S}", "{S} in the Regional Record")


def title_case(text: str) -> str:
    small = {"a", "an", "and", "the", "of", "in", "on", "to", "for", "by", "at", "with", "from"}
    words = text.split()
    return " ".join(w if (i and w in small) else cap(w) for i, w in enumerate(words))


def article(rng: random.Random, topic: Topic) -> tuple[str, list[str]]:
    """(title, blocks) for one encyclopedic article; a block is a paragraph or a '# heading'."""
    title = rng.choice(_TITLES).replace("{S}", title_case(topic.subject))
    picks = sorted(rng.sample(range(len(_HEADINGS)), rng.randint(5, 7)))
    blocks: list[str] = []
    for index in picks:
        blocks.append("# " + _HEADINGS[index])
        for _ in range(rng.randint(5, 8)):
            # Most paragraphs stay on topic; a few wander, as real articles do.
            t = topic if rng.random() < 0.8 else rng.choice(ALL_TOPICS)
            blocks.append(paragraph(rng, t))
    return title, blocks


_HOST_QUESTIONS = (
    "Could you begin by explaining how {subject} developed in this region?",
    "What does the historical record tell us about {thing}?",
    "How has public interest in {subject} changed over the past few decades?",
    "Which sources are most useful for studying {subject}?",
    "What role did {thing} play in the local economy?",
    "Among people interested in {subject}, how many still {act} today?",
    "What are the main challenges facing {subject} at present?",
    "How does the story of {subject} in this region compare with other parts of the country?",
    "Which policies have affected {subject} in recent years?",
    "Is there a common misconception about {thing}?",
    "What first drew you to research on {subject}?",
    "What do the latest figures show about {subject}?",
    "How should a museum present {thing} to visitors?",
    "Where should readers look if they want to learn more about {subject}?",
    "Where do you expect research on {subject} to go next?",
    "What happened to {thing} during {period}?",
    "Why has {subject} attracted so much attention recently?",
    "How reliable are the older accounts of {thing}?",
)
_GUEST_OPENINGS = (
    "The short answer is that {subject} developed unevenly in {region}, shaped by local custom, access to materials and the availability of labour.",
    "{Thing} is a useful example, because the records kept by {source} are unusually detailed.",
    "That is a reasonable question, and the evidence on {subject} from {period} is more complicated than it first appears.",
    "Most of what is known about {thing} comes from documents held by {source}.",
    "It depends to a large extent on definitions, and writers on {subject} have used the terms loosely since {period}.",
    "The research on {subject} points in several directions at once, particularly for {region}.",
    "Any discussion of {thing} has to begin with the economic conditions of {period}.",
    "The figures collected by {source} are a good starting point for understanding {subject}.",
    "In {region}, the answer is closely tied to {cause}, which affected {subject} more than is often recognised.",
)


def interview(rng: random.Random, topics: list[Topic], exchanges: int) -> list[tuple[str, str]]:
    """Alternating ("Host", question) / ("Guest", answer) turns; each pair shares one topic."""
    turns: list[tuple[str, str]] = []
    for _ in range(exchanges):
        topic = rng.choice(topics)
        turns.append(("Host", cap(rng.choice(_HOST_QUESTIONS).format_map(Slots(rng, topic)))))
        answer = [cap(rng.choice(_GUEST_OPENINGS).format_map(Slots(rng, topic)))]
        answer += [sentence(rng, topic) for _ in range(rng.randint(2, 6))]
        turns.append(("Guest", " ".join(answer)))
    return turns


_NOTE_HEADERS = ("Community bulletin {n}", "Field notes, series {n}", "Regional digest {n}",
                 "Parish newsletter, issue {n}")


def note(rng: random.Random, topics: list[Topic], number: int) -> list[str]:
    """Blocks of a plain-text bulletin: a header line, then short items on several topics."""
    blocks = [rng.choice(_NOTE_HEADERS).format(n=number)]
    for _ in range(rng.randint(30, 38)):
        topic = rng.choice(topics)
        blocks.append(f"{title_case(topic.subject)}\n" + paragraph(rng, topic, 3, 6))
    return blocks
