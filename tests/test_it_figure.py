"""The lecture's Figure 2, learned (attnwidget.itfigure): the corpus, and a short training run."""

from __future__ import annotations

import collections
import time

import numpy as np
import pytest

from attnwidget import itcorpus as C
from attnwidget import itfigure as F
from attnwidget.config import tokenize

# French genders written out independently of attnwidget.itfigure's tables.
GENDER = {"animal": "m", "dog": "m", "cat": "m", "horse": "m", "rabbit": "m", "mouse": "f", "cow": "f",
          "goat": "f", "hen": "f", "turtle": "f", "street": "f", "road": "f", "river": "f", "bridge": "m",
          "field": "m", "path": "m", "square": "f", "park": "m", "canal": "m", "valley": "f", "box": "f",
          "car": "f", "cage": "f", "house": "f", "basket": "m", "bag": "m", "boat": "m", "truck": "m"}
FEMININE = {"tired": "fatiguée", "wide": "large", "big": "grande", "small": "petite", "long": "longue",
            "heavy": "lourde", "full": "pleine", "narrow": "étroite", "short": "courte", "slow": "lente"}


@pytest.fixture(scope="module")
def split():
    return C.corpus(0)


def test_the_tables_have_the_nouns_and_adjectives_of_the_issue():
    assert len(C.ANIMALS) >= 8 and {"animal", "dog", "cat", "horse"} <= set(C.ANIMALS)
    assert len(C.PLACES) >= 8 and {"street", "road", "river", "bridge"} <= set(C.PLACES)
    for frame in C.FRAMES:
        assert len(frame.animal_side) >= 4 and len(frame.other_side) >= 4, frame.name
        assert not set(frame.animal_side) & set(frame.other_side), frame.name
    for table in (C.ANIMALS, C.PLACES, C.CONTAINERS):   # il and elle on both sides
        assert {g for _, g in table.values()} == {"m", "f"}
    # the size words change sides between frames: the adjective alone does not say who "it" is
    fit_in, carry = (next(f for f in C.FRAMES if f.name == n) for n in ("fit in", "carry"))
    assert "big" in fit_in.animal_side and "big" in carry.other_side
    assert "small" in fit_in.other_side and "small" in carry.animal_side


def test_genders_and_agreement_follow_the_table(split):
    for e in split[0] + split[1]:
        fr = e.french
        words = C.french_tokens(fr)
        referent = e.animal if e.referent == "animal" else e.other
        assert e.gender == GENDER[referent], e
        assert GENDER[e.animal] != GENDER[e.other], e                       # il / elle tells them apart
        assert words[words.index("qu'") + 1] == ("il" if GENDER[referent] == "m" else "elle"), fr
        adjective = words[-1]
        if e.adjective in FEMININE and GENDER[referent] == "f":
            assert adjective == FEMININE[e.adjective], fr
        assert adjective == C.ADJECTIVES[e.adjective][GENDER[referent] == "f"], fr
        for noun in (e.animal, e.other):
            french, _ = {**C.ANIMALS, **C.PLACES, **C.CONTAINERS}[noun]
            i = words.index(french)
            article = words[i - 1].lower()
            assert article == ("l'" if french[0] in "aeiouhé" else "le" if GENDER[noun] == "m" else "la"), fr


def test_the_figure_sentences_and_their_french(split):
    train, test = split
    french = {e.english: e.french for e in test}
    assert french[C.FIGURE[0]] == "L'animal n'a pas traversé la rue parce qu'il était trop fatigué"
    assert french[C.FIGURE[1]] == "L'animal n'a pas traversé la rue parce qu'elle était trop large"
    assert not {e.english for e in train} & set(C.FIGURE)
    assert tokenize(C.FIGURE[0]) == ["The", "animal", "didn't", "cross", "the", "street", "because", "it",
                                     "was", "too", "tired"]


def test_held_out_combinations_are_never_in_training(split):
    train, test = split
    key = lambda e: (e.frame, e.animal, e.other, e.adjective)  # noqa: E731
    assert not {key(e) for e in train} & {key(e) for e in test}
    assert not {e.english for e in train} & {e.english for e in test}
    assert 0.15 < len(test) / (len(train) + len(test)) < 0.25
    # held out are combinations, not words: every word of the test split is in the training split
    seen = {t for e in train for t in tokenize(e.english)} | {t for e in train for t in C.french_tokens(e.french)}
    assert all(t in seen for e in test for t in tokenize(e.english) + C.french_tokens(e.french))
    # both pronouns for both kinds of referent, in both splits
    for part in (train, test):
        counts = collections.Counter((e.referent, e.gender) for e in part)
        assert set(counts) == {("animal", "m"), ("animal", "f"), ("other", "m"), ("other", "f")}, counts


def test_the_split_is_drawn_from_the_seed():
    key = lambda part: sorted(e.english for e in part)  # noqa: E731
    assert key(C.corpus(0)[1]) == key(C.corpus(0)[1])
    assert key(C.corpus(0)[1]) != key(C.corpus(1)[1])


def test_positions_name_it_the_referent_and_the_other_noun(split):
    e = next(e for e in split[1] if e.english == C.FIGURE[1])
    assert e.positions() == (7, 5, 1)                       # it, street, animal
    e = next(e for e in split[1] if e.english == C.FIGURE[0])
    assert e.positions() == (7, 1, 5)


def test_french_tokens_round_trip(split):
    for e in split[1][:50]:
        assert C.french_text(C.french_tokens(e.french)) == e.french
    assert C.french_tokens("parce qu'elle était") == ["parce", "qu'", "elle", "était"]


def test_the_first_layer_reads_clause_by_clause(split):
    # clause_mask against a mask written out by hand for the figure's sentence
    from attnwidget.itmodel import clause_mask

    en, _ = C.vocabularies(split[0] + split[1])
    words = tokenize(C.FIGURE[0])
    b = words.index("because")
    want = np.array([[j == i if i < b else j >= b for j in range(len(words))] for i in range(len(words))])
    got = np.asarray(clause_mask(np.array([en.encode(C.FIGURE[0])] * 2, "int32"), en.ids["because"]))
    assert got.shape == (2, len(words), len(words)) and (got == want[None]).all()


def test_training_is_deterministic_for_a_seed(split):
    train = split[0][:96]
    en, fr = C.vocabularies(split[0] + split[1])
    weights = []
    for _ in range(2):
        model = F.build_model(en, fr, seed=3)
        F.fit(model, train, en, fr, seed=3, epochs=1)
        weights.append([np.asarray(w) for w in model.weights])
    assert all(np.array_equal(a, b) for a, b in zip(*weights))


# --- the training run (about a minute on two CPU cores) ---------------------------------------

@pytest.fixture(scope="module")
def figure():
    t0 = time.perf_counter()
    fig = F.train_it_figure(seed=0)
    fig.elapsed = time.perf_counter() - t0
    return fig


def test_training_is_short_and_gets_il_elle_right(figure):
    assert figure.train_seconds < 60, figure.train_seconds
    assert figure.metrics["pronoun"] >= 0.95, figure.metrics
    assert figure.translate(C.FIGURE[0]) == "L'animal n'a pas traversé la rue parce qu'il était trop fatigué"
    assert figure.translate(C.FIGURE[1]) == "L'animal n'a pas traversé la rue parce qu'elle était trop large"
    path, head = figure.head
    res = figure.capture(C.FIGURE[0])
    assert res.layer_kinds[path] == "self" and path.startswith("encoder/")
    assert res.layer_kinds[list(res.layers)[0]] == "self"                   # encoder self-attention first
    assert res.layer_tokens[path][0] == tokenize(C.FIGURE[0])
    assert 0 <= head < res.layers[path].shape[1]
    # the first layer attends as clause_mask says: main-clause words to themselves, "it" within its clause
    first = res.layers[list(res.layers)[0]][0]                               # (heads, T, T)
    b = tokenize(C.FIGURE[0]).index("because")
    np.testing.assert_allclose(first[:, :b, :b], np.broadcast_to(np.eye(b), (first.shape[0], b, b)), atol=1e-6)
    assert np.abs(first[:, b:, :b]).max() < 1e-6 and np.allclose(first[:, b:, b:].sum(-1), 1, atol=1e-5)


def test_the_chosen_head_looks_from_it_to_its_referent(figure):
    assert figure.metrics["referent"] >= 0.90, figure.metrics


def test_the_figure_rows(figure):
    rows = figure.metrics["figure"]
    assert rows[C.FIGURE[0]]["top"] == "animal", rows
    assert rows[C.FIGURE[1]]["top"] == "street", rows
