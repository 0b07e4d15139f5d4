"""Generic English the answer engine needs, as data: no story's people, places or words.

What is here holds for any English news report: function words, question words, irregular
verb forms, words that make a text a number or a time, the verbs of speech, the particles
of phrasal verbs, greetings and thanks. A story's own vocabulary (its names, its synonyms)
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
    subject subjects after before during through without because against among within
    while since until under between yet still already actually ever point purpose reason
    goal aim article story report text piece according news bot
    hi hello hey hiya howdy greetings thanks thank thx cheers
    """
)
"""Function words, question fillers, words about the source itself ("according to the
article") and greetings inside a question ("hi, what is ...?"), dropped before folding.
Small on purpose: content words of questions ("say", "want", "visit") are kept. "not" is
kept: "why hasn't X..." is about a refusal."""

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
        "met": "meet",
        "sent": "send",
        "sped": "speed",
        "used": "use",
        "freed": "free",
        "closer": "close",
        "faster": "fast",
        "quicker": "quick",
        "sooner": "soon",
    }
)
"""Irregular forms the suffix folding cannot reach."""

NUMBER_WORDS = frozenset(["hundred", "thousand", "million", "billion", "dozen"])
"""Words that make a text a quantity (besides digits); compared after folding."""
TIME_WORDS = _word_set(
    """
    monday tuesday wednesday thursday friday saturday sunday today tonight yesterday
    tomorrow day week weekend month year decade now ago recently soon later earlier
    january february march april may june july august september october november december
    """
)
"""Words that make a text a time (besides a year such as 2005); compared after folding."""

QUESTION_PHRASES: tuple[tuple[str, str], ...] = (
    # Replaced in this order, as whole words, on the lower-cased text before tokenising.
    (r"how many|how much|number of|amount of|numbers?|figures?|statistics?|stats?", QUANTITY),
    (r"when|what time|what day|what date|how long ago", TIME),
    (r"short term|thus far|so far|up to now|until now", rf"\g<0> {TIME}"),
    (r"going on|go on|good (?:morning|afternoon|evening|day)", ""),
)
"""What a question asks for, as regular expressions over whole words, and its marker."""

SPEECH_VERBS = ("say", "tell", "talk", "speak", "comment", "add", "remark")
"""The verbs of reported speech in news English; each stands for :data:`SPEECH`."""

PARTICLES = frozenset(["back", "out", "up", "down", "off", "away", "on", "in", "over", "go"])
"""The last words of separable phrasal verbs: in a phrase that ends with one, up to
:data:`MAX_PARTICLE_GAP` words may stand before it ("send them back" is "send back")."""
MAX_PARTICLE_GAP = 2

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
