"""The corpus of the lecture's Figure 2 (see :mod:`attnwidget.itfigure`): English sentences whose "it" the
adjective resolves, their French translations (il / elle and the agreement), the train / held-out split,
the vocabularies and the arrays a Transformer trains on. No downloads.

English is split with :func:`attnwidget.tokenize` ("didn't" stays one token); French with
:func:`french_tokens`, which splits elisions off ("L'", "animal", "qu'", "il").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# English word → (French noun, gender).
ANIMALS = {"animal": ("animal", "m"), "dog": ("chien", "m"), "cat": ("chat", "m"), "horse": ("cheval", "m"),
           "rabbit": ("lapin", "m"), "mouse": ("souris", "f"), "cow": ("vache", "f"), "goat": ("chèvre", "f"),
           "hen": ("poule", "f"), "turtle": ("tortue", "f")}
PLACES = {"street": ("rue", "f"), "road": ("route", "f"), "river": ("rivière", "f"), "bridge": ("pont", "m"),
          "field": ("champ", "m"), "path": ("chemin", "m"), "square": ("place", "f"), "park": ("parc", "m"),
          "canal": ("canal", "m"), "valley": ("vallée", "f")}
CONTAINERS = {"box": ("boîte", "f"), "car": ("voiture", "f"), "cage": ("cage", "f"), "house": ("maison", "f"),
              "basket": ("panier", "m"), "bag": ("sac", "m"), "boat": ("bateau", "m"), "truck": ("camion", "m")}
# English adjective → (masculine, feminine).
ADJECTIVES = {
    "tired": ("fatigué", "fatiguée"), "scared": ("effrayé", "effrayée"), "slow": ("lent", "lente"),
    "weak": ("faible", "faible"), "wide": ("large", "large"), "busy": ("fréquenté", "fréquentée"),
    "deep": ("profond", "profonde"), "big": ("grand", "grande"), "small": ("petit", "petite"),
    "long": ("long", "longue"), "short": ("court", "courte"), "heavy": ("lourd", "lourde"),
    "narrow": ("étroit", "étroite"), "full": ("plein", "pleine"),
}


@dataclass(frozen=True)
class Frame:
    """One sentence pattern: ``{a}`` an animal, ``{o}`` a place or object, ``{adj}`` the adjective."""

    name: str
    english: str            # "The {a} didn't cross the {o} because it was too {adj}"
    french: str             # the main clause: "{A} n'a pas traversé {o}"
    others: dict            # the {o} nouns: PLACES or CONTAINERS
    animal_side: tuple      # adjectives that make "it" the animal
    other_side: tuple       # adjectives that make "it" the place or object


FRAMES = (
    Frame("cross", "The {a} didn't cross the {o} because it was too {adj}", "{A} n'a pas traversé {o}", PLACES,
          ("tired", "scared", "slow", "weak", "small"), ("wide", "long", "busy", "deep", "big")),
    Frame("fit on", "The {a} didn't fit on the {o} because it was too {adj}", "{A} ne tenait pas sur {o}", PLACES,
          ("big", "wide", "long", "heavy"), ("small", "narrow", "short", "weak")),
    Frame("fit in", "The {a} didn't fit in the {o} because it was too {adj}", "{A} ne rentrait pas dans {o}",
          CONTAINERS, ("big", "wide", "long", "heavy"), ("small", "narrow", "short", "full")),
    Frame("carry", "The {a} couldn't carry the {o} because it was too {adj}", "{A} ne pouvait pas porter {o}",
          CONTAINERS, ("small", "weak", "tired", "short"), ("big", "heavy", "long", "wide")),
)
FIGURE = ("The animal didn't cross the street because it was too tired",
          "The animal didn't cross the street because it was too wide")


def article(noun: str, gender: str, capital: bool = False) -> str:
    """``le chien``, ``la rue``, ``l'animal`` (``Le`` / ``La`` / ``L'`` with ``capital``)."""
    art = "l'" if noun[0] in "aeiouhéè" else ("le " if gender == "m" else "la ")
    return (art[0].upper() + art[1:] if capital else art) + noun


def french_tokens(text: str) -> list[str]:
    """French words with elisions split off: ``"qu'il"`` → ``["qu'", "il"]``."""
    return re.findall(r"\w+['’]|\w+|[^\w\s]", text)


def french_text(tokens) -> str:
    """Inverse of :func:`french_tokens` (no space after an elided ``l'``, ``qu'``, ``n'``)."""
    return "".join(t if t.endswith("'") else t + " " for t in tokens).strip()


@dataclass(frozen=True)
class Example:
    """One sentence pair; ``referent`` is ``"animal"`` or ``"other"`` (the place or object)."""

    frame: str
    animal: str
    other: str
    adjective: str
    referent: str
    english: str
    french: str
    gender: str             # of the referent: "m" or "f"

    @property
    def referent_noun(self) -> str:
        """The English noun "it" stands for."""
        return self.animal if self.referent == "animal" else self.other

    @property
    def pronoun(self) -> str:
        return "il" if self.gender == "m" else "elle"

    def positions(self) -> tuple[int, int, int]:
        """Source token indices of ``(it, referent, other noun)``."""
        from .config import tokenize

        toks = tokenize(self.english)
        a, o = toks.index(self.animal), toks.index(self.other)
        return toks.index("it"), *((a, o) if self.referent == "animal" else (o, a))


def make_example(frame: Frame, animal: str, other: str, adjective: str) -> Example:
    """The pair of ``frame`` with these words; French pronoun and adjective agree with the referent."""
    a_fr, a_g = ANIMALS[animal]
    o_fr, o_g = frame.others[other]
    referent = "animal" if adjective in frame.animal_side else "other"
    gender = a_g if referent == "animal" else o_g
    pronoun = "il" if gender == "m" else "elle"
    fr = (frame.french.format(A=article(a_fr, a_g, capital=True), o=article(o_fr, o_g))
          + f" parce qu'{pronoun} était trop {ADJECTIVES[adjective][gender == 'f']}")
    return Example(frame.name, animal, other, adjective, referent,
                   frame.english.format(a=animal, o=other, adj=adjective), fr, gender)


def corpus(seed: int = 0, held_out: float = 0.2) -> tuple[list[Example], list[Example]]:
    """``(train, test)``: every frame × animal × place or object × adjective whose two nouns differ in
    gender (else il / elle would not show who "it" is). A share ``held_out`` of these combinations,
    drawn from ``seed``, and always the figure's two sentences, are only in ``test``."""
    rng = np.random.default_rng([seed, 0xF16])
    train, test = [], []
    for frame in FRAMES:
        for animal, (_, a_g) in ANIMALS.items():
            for other, (_, o_g) in frame.others.items():
                if a_g == o_g:
                    continue
                for adj in frame.animal_side + frame.other_side:
                    ex = make_example(frame, animal, other, adj)
                    (test if rng.random() < held_out or ex.english in FIGURE else train).append(ex)
    return train, test


class Vocab:
    """A tokenizer: text ↔ ids; 0 pads, 1 unknown, 2 start, 3 end."""

    SPECIAL = ("<pad>", "<unk>", "<s>", "</s>")

    def __init__(self, split, words):
        self.split = split
        self.tokens = list(self.SPECIAL) + sorted(set(words) - set(self.SPECIAL))
        self.ids = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self):
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        return [self.ids.get(t, 1) for t in self.split(text)]

    def decode(self, ids) -> list[str]:
        return [self.tokens[int(i)] for i in ids]


def vocabularies(examples) -> tuple[Vocab, Vocab]:
    """English and French :class:`Vocab` of ``examples``."""
    from .config import tokenize

    return (Vocab(tokenize, [t for e in examples for t in tokenize(e.english)]),
            Vocab(french_tokens, [t for e in examples for t in french_tokens(e.french)]))


def by_frame(examples) -> list[list[Example]]:
    """``examples`` grouped by frame: in a group all sources have one length, all targets another."""
    return [g for g in ([e for e in examples if e.frame == f.name] for f in FRAMES) if g]


def arrays(examples, en: Vocab, fr: Vocab):
    """``(source (N, T), decoder input (N, U), labels (N, U))`` int32 of one frame's ``examples``."""
    src = np.array([en.encode(e.english) for e in examples], "int32")
    tgt = np.array([fr.encode(e.french) for e in examples], "int32")
    n = len(examples)
    return src, np.concatenate([np.full((n, 1), 2, "int32"), tgt], 1), np.concatenate([tgt, np.full((n, 1), 3, "int32")], 1)


# --- model, training, measurement -------------------------------------------------------------
