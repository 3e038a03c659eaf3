"""Conversations: ids seen together are linked, and a conversation keeps its oldest name."""

from __future__ import annotations

from tpsim.journal_links import Conversations, Reading, correlation_ids


def test_ids_seen_together_form_one_conversation_named_by_the_first_linked() -> None:
    conversations = Conversations()
    assert conversations.link(["tx-1", "quote-1"], seq=1) == "tx-1"
    assert conversations.link(["auth-1", "quote-1"], seq=2) == "tx-1"
    assert conversations.find("auth-1") == "tx-1"
    assert conversations.ties(["other", "auth-1"], "tx-1")
    assert not conversations.ties(["other"], "tx-1")


def test_merging_two_conversations_keeps_the_older_name() -> None:
    conversations = Conversations()
    conversations.link(["old"], seq=1)
    conversations.link(["new"], seq=2)
    assert conversations.link(["new", "old"], seq=3) == "old"
    assert conversations.find("new") == "old"


def test_an_unknown_id_is_its_own_conversation_and_no_ids_name_none() -> None:
    conversations = Conversations()
    assert conversations.find("never-seen") == "never-seen"
    assert conversations.link([], seq=1) is None
    assert len(conversations) == 0


def test_relinking_forgets_every_link_but_those_given() -> None:
    conversations = Conversations()
    conversations.link(["a", "b"], seq=1)
    conversations.link(["c", "d"], seq=2)
    conversations.relink([(["c", "d"], 2)])
    assert len(conversations) == 2
    assert conversations.find("b") == "b"
    assert conversations.find("d") == "c"


def test_correlation_ids_put_the_path_id_first_and_tags_apart() -> None:
    reading = Reading(links=("quote-1", "tx-1"), tags=("consent-1", "tx-1"))
    ids, linking = correlation_ids("tx-1", reading, related=("auth-1",))
    assert linking == ["tx-1", "auth-1", "quote-1"]
    assert ids == ["tx-1", "auth-1", "quote-1", "consent-1"]


def test_a_path_id_read_as_a_tag_is_listed_first_and_links_nothing() -> None:
    # A party or an account (``THIRD_PARTY_LINK/{address}``) outlives its conversations.
    reading = Reading(tags=("consent-1",), path_id_tags=True)
    ids, linking = correlation_ids("THIRD_PARTY_LINK/a", reading, related=("consent-2",))
    assert (ids, linking) == (["THIRD_PARTY_LINK/a", "consent-2", "consent-1"], ["consent-2"])
    assert correlation_ids("THIRD_PARTY_LINK/a", reading) == (
        ["THIRD_PARTY_LINK/a", "consent-1"],
        [],
    )
