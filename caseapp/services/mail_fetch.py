"""Fetching the privacy mailbox: every new message taken in, then flagged on the server.

A message is flagged processed only after its unit of work committed (or it was found
to be a duplicate of one that did). Killed between the two, the next fetch sees it
again, recognizes its (UIDVALIDITY, UID) and flags it then: nothing lost, nothing
doubled. Messages too large to download are put on record in quarantine (they stay on
the server) and flagged, so they are reported once, not at every fetch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from caseapp.intake.imap import Mailbox
from caseapp.intake.sources import SourceItem, mail_hash
from caseapp.services.dto import IntakeResult
from caseapp.services.intake import MailOrigin

TakeIn = Callable[[SourceItem, MailOrigin], IntakeResult]
FLAG_EVERY = 20
"""Committed messages flagged per STORE: fewer round trips, little to redo after a kill."""


def _origin(mailbox: Mailbox, uid: int) -> MailOrigin:
    return MailOrigin(f"{mailbox.key} UID {uid}", mailbox_key=mailbox.key,
                      uidvalidity=mailbox.uidvalidity, uid=uid,
                      received_at=mailbox.arrived_at(uid))


def fetch_new_mail(take_in: TakeIn, mailbox: Mailbox, *,
                   known_uids: Callable[[str, int], set[int]] | None = None,
                   cancel: Callable[[], bool] | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   ) -> Iterator[IntakeResult]:
    """Take in every message not yet taken in; one result each, in UID order.

    With a server that keeps our ``$CaseappProcessed`` keyword, "new" is what lacks it.
    A server that refuses custom keywords would leave only ``\\Seen``, which staff set
    by reading the mail in their own program: there "new" is every UID the case database
    has not recorded for this mailbox (``known_uids``), and nothing is flagged.
    """
    flagging = mailbox.uses_custom_keyword
    if flagging:
        pending = mailbox.pending_uids()
    else:
        known = known_uids(mailbox.key, mailbox.uidvalidity) if known_uids else set()
        pending = [uid for uid in mailbox.all_uids() if uid not in known]
    total = len(pending)
    if progress is not None:
        progress(0, total)
    committed: list[int] = []
    done = 0
    try:
        for uid, raw in mailbox.fetch(pending):
            if cancel is not None and cancel():
                return
            origin = _origin(mailbox, uid)
            result = take_in(SourceItem(origin.label, "mail", data=raw, sha256=mail_hash(raw)),
                             origin)
            committed.append(uid)
            if flagging and len(committed) >= FLAG_EVERY:
                mailbox.mark_processed(committed)
                committed.clear()
            done += 1
            if progress is not None:
                progress(done, total)
            yield result
        for big in list(mailbox.oversized):
            origin = _origin(mailbox, big.uid)
            reason = (f"too large to take in ({big.size / 1048576:.1f} MB, the limit is "
                      f"{mailbox.max_message_bytes // 1048576} MB); it is left on the "
                      "server: open it in your mail program")
            result = take_in(SourceItem(origin.label, "mail", error=reason), origin)
            committed.append(big.uid)
            done += 1
            if progress is not None:
                progress(done, total)
            yield result
    finally:
        if flagging and committed:
            mailbox.mark_processed(committed)
