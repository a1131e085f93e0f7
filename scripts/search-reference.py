#!/usr/bin/env python3
"""The reference of offline search's matching rules, in Python's own Unicode.

    scripts/search-reference.py [--seed N] [--messages N] [--queries N]

Prints one JSON object: a random corpus in several scripts (`messages`: id and body), random
queries, and for each query the ids of the messages it matches (`expected`), by the rules of
Documentation/Architecture.md ("Search"): text folded with `str.casefold`, NFKD, nonspacing marks
dropped; a word is a run of letters and numbers; every query word must begin a word of the body.
The SDK's search must find exactly these sets (Tests/PlusGuidancePersistenceTests/SearchTests).
"""
import argparse
import json
import random
import unicodedata

VOCABULARY = [
    # Latin, with diacritics, ß and ligatures
    "Café", "résumé", "naïve", "Schlafstörung", "Straße", "Ærø", "façade", "piñata", "Øresund",
    "ﬁle", "sleep", "sleeping", "SLEEPLESS", "slept", "therapy", "therapist", "anxiety", "dream",
    "İstanbul", "Łódź", "crème", "brûlée", "Ångström", "coöperate", "jalapeño",
    # Greek (final sigma, tonos)
    "Σοφία", "σοφός", "ΟΔΟΣ", "ύπνος", "Ύπνος", "άγχος",
    # Cyrillic
    "Сон", "бессонница", "ЁЛКА", "ёлка", "тревога", "Сновидение",
    # Arabic with harakat (nonspacing marks)
    "نَوْم", "نوم", "قَلَق",
    # Hebrew with niqqud
    "שֵׁנָה", "שנה",
    # CJK and kana (no spaces: a run is one word), full and half width
    "睡眠", "日本語", "カタカナ", "ｶﾀｶﾅ", "ＳＬＥＥＰ",
    # Hangul (NFKD decomposes syllables into jamo)
    "잠", "수면", "불면증",
    # Digits and mixed
    "2024", "３０", "week42", "x²",
]
SEPARATORS = [" ", " ", " ", ", ", ". ", "! ", "? ", " - ", "… ", "\n", "/", "(", ")", "'", "_"]


def fold(text):
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if unicodedata.category(c) != "Mn")


def words(text):
    found, word = [], []
    for c in fold(text):
        if unicodedata.category(c)[0] in "LN":
            word.append(c)
        elif word:
            found.append("".join(word))
            word = []
    if word:
        found.append("".join(word))
    return found


def matches(query_terms, body_words):
    return bool(query_terms) and all(any(w.startswith(t) for w in body_words) for t in query_terms)


def variant(rng, word):
    choice = rng.random()
    if choice < 0.2:
        return word.upper()
    if choice < 0.35:
        return word.lower()
    if choice < 0.45:
        return word.title()
    return word


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    messages = []
    for index in range(args.messages):
        parts = []
        for _ in range(rng.randint(1, 12)):
            parts.append(variant(rng, rng.choice(VOCABULARY)))
            parts.append(rng.choice(SEPARATORS))
        messages.append({"id": "msg_%05d" % index, "body": "".join(parts).strip() or "x"})
    indexed = [(m["id"], words(m["body"])) for m in messages]
    queries = []
    for _ in range(args.queries):
        terms = []
        for _ in range(rng.randint(1, 3)):
            word = rng.choice(VOCABULARY)
            shown = rng.choice([word, fold(word), word.upper(), word.lower()])
            # A prefix of it, sometimes: "slee" for "sleeping".
            if rng.random() < 0.4 and len(shown) > 2:
                shown = shown[: rng.randint(2, len(shown))]
            terms.append(shown)
        text = rng.choice([" ", "  ", ", ", " & "]).join(terms)
        query_terms = list(dict.fromkeys(words(text)))
        expected = sorted(i for i, body_words in indexed if matches(query_terms, body_words))
        queries.append({"text": text, "expected": expected})
    print(json.dumps({"messages": messages, "queries": queries}, ensure_ascii=False))


if __name__ == "__main__":
    main()
