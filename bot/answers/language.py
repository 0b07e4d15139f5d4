"""Generic English the answer engine needs, as data: no story's people, places or words.

What is here holds for any English news report: function words, question words and the
answer types they ask for, irregular verb forms, words that make a text a number, a time, a
duration, a reason, a verdict, a person or a place, the verbs of speech, general-English
equivalents (readers' paraphrases: "begin" for "start"), the particles of phrasal verbs,
greetings and thanks. A story's own vocabulary (its names, its synonyms)
comes from the digest's ``lexicon`` instead (see :class:`bot.answers.text.Lexicon`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

QUANTITY = "#qty"
"""The marker term of a quantity: a number in a text, or "how many" in a question."""
TIME = "#time"
"""The marker term of a time: a day, week, year... in a text, or "when" in a question."""
SPEECH = "say"
"""The concept term of the verbs of speech: a question with it may be answered by a quote."""
PERSON = "#who"
"""The marker term of a person or role: a name or a role word in a text, or "who"."""
PLACE = "#where"
"""The marker term of a place: "in"/"at"... before a name, a place noun, or "where"."""
DURATION = "#dur"
"""The marker term of a duration: a number before a unit of time, or "how long"."""
REASON = "#why"
"""The marker term of a reason: "because", "due to", "so that"..., or "why"."""
AGE = "#age"
"""The marker term of an age: "Smith, 44," or "a 120-year-old plant", or "how old"."""
FUTURE = "#next"
"""The marker term of what is still to come: "will", "would", "plans to"... in a text or a
question ("what will X do", "who will they play")."""
COUNTED = "#n:"
"""The prefix of what a number counts: ``#n:day`` for "57 days" and for "how many days"."""
SETTLE = "#yesno"
"""The marker term of a verdict (agreed, refused, not...), or a yes/no question."""


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS = _word_set(
    """
    a an the and or but of to in on at for from by with as into onto than then that this
    these those it its is are was were be been being am do does did doing done have has
    had having will would shall should can could may might must no so if what which
    who whom whose when where why how there here they them their theirs he him his she her
    hers we our ours i me my mine you your yours also just more most some any all both each
    other such only very too up out over again about regarding concerning tell know please
    happen happened happens mean means meant explain describe thing things anything
    something else like really exactly ok okay well get gets got getting people person
    persons involved involve whats many much one kind lot let issue issues topic topics
    subject subjects after before during through without because among within
    while since until under between yet still already actually ever point purpose reason
    goal aim article story report text piece according news bot ever per
    go goes went gone going come comes came coming become becomes became becoming
    take takes took taken make makes made making think thinks thought seem seems seemed
    supposed new
    hi hello hey hiya howdy greetings thanks thank thx cheers
    """
)
"""Function words, question fillers, words about the source itself ("according to the
article") and greetings inside a question ("hi, what is ...?"), dropped before folding.
Small on purpose: content words of questions ("say", "want", "visit") are kept. "not" is
kept: "why hasn't X..." is about a refusal. "new" goes: a reader names the story's subject
with it ("the new mayor", "the new outlook") where the article uses its name."""

IRREGULAR: Mapping[str, str] = MappingProxyType(
    {
        "said": "say",
        "told": "tell",
        "spoke": "speak",
        "spoken": "speak",
        "went": "go",
        "gone": "go",
        "going": "go",
        "goes": "go",
        "took": "take",
        "taken": "take",
        "taking": "take",
        "brought": "bring",
        "flew": "fly",
        "flown": "fly",
        "caught": "catch",
        "held": "hold",
        "upheld": "uphold",
        "met": "meet",
        "sent": "send",
        "sped": "speed",
        "used": "use",
        "freed": "free",
        "closer": "close",
        "faster": "fast",
        "quicker": "quick",
        "sooner": "soon",
        "children": "child",
        "kids": "kid",
        "men": "man",
        "women": "woman",
        "laid": "lay",
        "heard": "hear",
        "began": "begin",
        "begun": "begin",
        "rose": "rise",
        "risen": "rise",
        "fell": "fall",
        "fallen": "fall",
        "won": "win",
        "lost": "lose",
        "paid": "pay",
        "built": "build",
        "bought": "buy",
        "sold": "sell",
        "chose": "choose",
        "chosen": "choose",
        "gave": "give",
        "given": "give",
        "made": "make",
        "found": "find",
        "kept": "keep",
        "led": "lead",
        "ran": "run",
        "saw": "see",
        "seen": "see",
        "thought": "think",
        "wrote": "write",
        "written": "write",
        "broke": "break",
        "broken": "break",
        "spent": "spend",
        "drove": "drive",
        "driven": "drive",
        "grew": "grow",
        "grown": "grow",
        "knew": "know",
        "known": "know",
        "fought": "fight",
        "stood": "stand",
        "sought": "seek",
        "struck": "strike",
        "hung": "hang",
        "shot": "shoot",
        "cancelled": "cancel",
        "canceled": "cancel",
        "died": "die",
        "dead": "die",
        "deaths": "death",
    }
)
"""Irregular forms the stemmer cannot reach (it strips suffixes, it knows no vocabulary)."""

NUMBER_WORDS = _word_set(
    """
    two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
    hundred thousand million billion trillion dozen dozens hundreds thousands millions
    half third thirds quarter quarters percent twice double triple tenth fifth
    """
)
"""Words that make a text a quantity (besides digits): "nine", "a third", "one in five" (by
"five"); compared after folding. "one" is left out: "one of them" counts nothing."""
DURATION_UNITS = _word_set("second minute hour day night week month year decade century")
"""Units that make a number before them a duration ("eleven days", "48-hour")."""
REASON_WORDS = _word_set("because due cause caused reason since therefore amid blame why")
"""Words that give a reason in news English ("because", "due to", "so that", "since")."""
SETTLE_WORDS = _word_set(
    """
    not no never yes refuse refused reject rejected decline declined deny denied agree agreed
    accept accepted approve approved confirm confirmed won lost stayed remain remained
    """
)
"""Words that settle a yes/no question either way: an agreement, a refusal, a negation."""
PERSON_WORDS = _word_set(
    """
    minister mayor president secretary chief executive director spokesman spokeswoman
    spokesperson official officials chairman chairwoman chair leader head manager coach
    captain judge lawyer attorney officer police councillor councilor member members nurse
    doctor resident residents worker workers engineer engineers economist analyst analysts
    founder governor senator commissioner inspector professor teacher player players
    """
)
"""Role words: a text with one names a person by role ("the mayor", "city engineers")."""
SOMEONE = _word_set("man woman boy girl lady gentleman guy")
"""Plain words for someone: where the article names the person instead ("the woman carried
out by her neighbours" is "Jane Roe, 67, who was carried out by neighbours"), a question
word for that person."""
PLACE_WORDS = _word_set(
    """
    city town village island river valley street road avenue square point pier port harbor
    harbour coast bay county region district state country border bridge station airport
    site hill hills north south east west mainland downtown centre center court stadium
    """
)
"""Place nouns: a text with one names a place ("the site", "the valley")."""
LOCATIVES = _word_set("in at near from outside inside across into to on")
"""Prepositions that put a following capitalised name in place ("at Calder Point")."""
POSSESSIVES = _word_set("its their his her our my your whose")
"""Possessive determiners: "own" after one is emphasis ("on its own"), not a verb."""
YES_NO_OPENERS = _word_set(
    "did does do is are was were has have had will would can could should shall"
)
"""First words of a yes/no question ("did the council agree...")."""
TIME_WORDS = _word_set(
    """
    monday tuesday wednesday thursday friday saturday sunday today tonight yesterday
    tomorrow now ago recently soon later earlier morning afternoon evening midnight noon
    spring summer autumn winter
    january february march april may june july august september october november december
    """
)
"""Words that make a text a time (besides a year such as 2005, a clock time such as 3:40 or
7 p.m., and a period named relative to now, see :data:`RELATIVE_PERIODS`); compared after
folding. "day", "week"... alone are not: "60 days" is a duration, not a date."""
COUNTED_FILLERS = _word_set("people persons")
"""Stop words that are still what a number counts ("about 350 people", "how many people")."""
MAX_COUNT_GAP = 3
"""How far after a number (past other numbers and function words) what it counts may be:
"at least 57 days", "4.2 million dollars"."""
RELATIVE_WORDS = _word_set("last next this previous coming following same")
RELATIVE_PERIODS = _word_set("day week weekend month year decade season quarter night")
"""A period after one of :data:`RELATIVE_WORDS` is a time: "last week", "next year"."""

QUESTION_PHRASES: tuple[tuple[str, str], ...] = (
    # Replaced in this order, as whole words, on the lower-cased text before tokenising.
    (r"how long ago", TIME),
    (r"how old|what age|aged?", AGE),
    (r"how long|for how long|how much time", DURATION),
    (
        r"how many|how much|how big|how large|how high|how far|how close|how near|what share|"
        r"what percentage|what proportion|percentage|number of|amount of|numbers?|figures?|"
        r"statistics?|stats?",
        QUANTITY,
    ),
    (r"deadlines?|time limits?|cut-?offs?", f"{DURATION} {TIME}"),
    (r"when|what time|what day|what date|(?:this|that|last|next) time", TIME),
    # A measurable thing asked for by name ("what was the final score") wants a number too.
    (
        r"what (?:is|was|are|were) the (?:\w+ )?(?:score|vote|margin|tally|result|price|"
        r"cost|rate|total|turnout|salary|budget|population|toll)",
        rf"\g<0> {QUANTITY}",
    ),
    (r"why|how come|what for|what caused|reasons?", REASON),
    (r"who|whom|whose", PERSON),
    (r"where", PLACE),
    (r"(?:do|happens?|comes?) next|next steps?|what next", FUTURE),
    (
        r"will|would|shall|going to|(?:plans?|planned|intends?|intended|expects?|expected|"
        r"hopes?|hoped|aims?|aimed|is|are|was|were) to",
        rf"\g<0> {FUTURE}",
    ),
    (r"short term|thus far|so far|up to now|until now", rf"\g<0> {TIME}"),
    (r"(?:going|go) on(?! sale)|good (?:morning|afternoon|evening|day)", ""),
)
"""What a question asks for, as regular expressions over whole words, and its marker."""

UNANIMOUS_TALLY = r"\d{1,2} 0 (?:vote|decision|ruling|verdict)|vot(?:ed|e of|ing) \d{1,2} 0"
"""A tally with no vote against ("a 3-0 decision", "voted 9-0"), over a text's tidied words
(the hyphen gone): a unanimous one, whether or not the text says the word."""
UNANIMOUS = "unanimous"

SPEECH_VERBS = ("say", "tell", "talk", "speak", "comment", "add", "remark", "reply", "respond")
"""The verbs of reported speech in news English; each stands for :data:`SPEECH`."""


def _groups(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(
        tuple(term.strip() for term in line.split(",")) for line in text.strip().splitlines()
    )


EQUIVALENTS = _groups(
    """
    win, winner, victory, victor
    begin, start, commence, launch, kick off, get under way
    finish, conclude, wrap up
    shut, close, shut down, out of action, out of service
    cancel, call off, scrap, axe
    postpone, delay, put off, push back, reschedule
    die, kill, dead, death, fatal, lose life
    injure, hurt, wound, injury
    evacuate, flee, displace, evacuee, from their homes, out of their homes
    cost, price, expense
    fund, finance, pay for, foot the bill
    big, large, huge, size
    increase, rise, raise, grow, go up, climb, jump, hike, boost
    decrease, fall, drop, go down, reduce, shrink
    buy, purchase, acquire, on sale, for sale
    company, firm, business, corporation
    employee, staff, workforce
    employ, work at, work for
    raise the alarm, alert, warn, warning
    job, post, position
    quit, resign, step down
    take office, sworn in, swear in, inaugurate, inauguration
    request, ask for
    dismiss, sack, lay off, layoff, redundancy
    hire, recruit, take on
    fine, penalty, penalise, penalize
    ruling, verdict, judgment, judgement, decide, decision, uphold, overturn, quash
    lawyer, attorney, counsel
    government, administration
    money, cash
    build, construct, construction
    plan, proposal, scheme
    vote, ballot, poll
    help, aid, assist, relief
    rain, rainfall, downpour
    flood, flooding, inundate, burst its banks, overflow
    home, house, residence
    child, kid, boy, girl
    woman, female
    current, existing
    in charge of, head, chair
    approve, pass, adopt
    car, vehicle
    boss, chief executive, ceo, managing director
    cfo, chief financial officer, finance director
    profit, net income
    revenue, sales, turnover
    stock, shares, share price, stock price
    shareholder, investor
    forecast, outlook, guidance
    worry, concern, fear
    angry, upset, furious, anger
    happy, pleased, delighted
    refuse, reject, decline, turn down, rebuff
    allow, permit
    ban, prohibit, forbid
    need, require
    want, seek, demand, call for
    response, reaction
    problem, trouble, difficulty
    danger, dangerous, risk, risky, hazard, unsafe
    quick, fast, rapid, swift
    soon, shortly
    total, overall, altogether
    electricity, power
    game, match, fixture
    team, squad
    fan, supporter, spectator, crowd
    send off, red card
    equalise, equalize, equaliser, equalizer, level, leveller
    score, goal
    pollute, pollution, contaminate, contamination
    faulty, defective, broken
    regulator, watchdog
    investigation, inquiry, probe, investigate
    compensation, compensate
    troops, soldier, army, military
    firefighter, fire crew
    shelter, refuge
    base on, rest on, rely on, depend on
    fraud, cheat, rig, tamper
    former, previous, prior
    next, upcoming
    favour, favor
    centre, center
    organise, organize
    programme, program
    defence, defense
    labour, labor
    neighbour, neighbor
    metre, meter
    kilometre, kilometer
    litre, liter
    theatre, theater
    """
)
"""Equivalent words and phrases of general English (and British and American spellings),
each group one concept: readers paraphrase ("begin" for "start", "shut" for "closed"). Any
story's own equivalences come from its digest's ``lexicon``."""
VERDICT_VERBS = _word_set("agree accept approve refuse reject decline deny confirm allow permit")
"""Verbs a yes/no question asks about that are answered by their opposite as well: "did X
agree to Y" is settled by "X refused Y"; such a question asks for :data:`SETTLE` instead."""

PARTICLES = frozenset(["back", "out", "up", "down", "off", "away", "on", "in", "over", "go"])
"""The last words of separable phrasal verbs: in a phrase that ends with one, up to
:data:`MAX_PARTICLE_GAP` words may stand before it ("send them back" is "send back")."""
MAX_PARTICLE_GAP = 2

FOREIGN_FUNCTION_WORDS = _word_set(
    """
    el los las del qué que y está por para una sobre cómo cuándo dónde cuántos cuántas porqué
    dijo dice dicho la sur dit hat gesagt sind haben wurde ha detto cosa
    les des du et est une pour avec dans qui quoi comment pourquoi où quand combien
    der das und ist nicht ein eine mit von zu wer wie warum wann wo wieviele über
    il gli che di sono perché quando dove quanti quante della
    não os um uma com porque onde quantos sobre
    """
)
"""Function words of other languages written in the Latin script (Spanish, French, German,
Italian, Portuguese) that English does not use: a question made of them is not English."""
MIN_FOREIGN_WORDS = 2

GREETING_CORE = _word_set(
    "hi hello hey hiya howdy yo greetings morning afternoon evening hola salut sup"
)
GREETING_FILLER = _word_set("good there bot all everyone folks again dear friend guys")
THANKS_CORE = _word_set("thanks thank thx ty cheers appreciated appreciate ta merci")
THANKS_FILLER = _word_set(
    "you so very much a lot many great ok okay cool nice awesome it that this helpful "
    "perfect bot again and for the info information help answer your"
)
GREETING_PHRASES = frozenset(["how are you", "how are you doing", "whats up", "what s up"])
