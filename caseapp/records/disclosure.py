"""What an access report must never disclose (CCPA regulations §7024(d)).

A business shall not disclose a consumer's Social Security number, driver's licence or
other government-issued identification number, financial account number, health
insurance or medical identification number, account password, security questions and
answers, or unique biometric data; it may say that it holds them. A column is masked
when its name says it holds such data, or when the sources file lists it in the
table's ``never_disclose``: names are a safety net, the list is the rule.
"""

from __future__ import annotations

import re

from caseapp.records.sources import Table

MASKED_TEXT = "held; not disclosed (CCPA regulations §7024(d))"
MASKED_NOTE = ("Some records hold information the law does not allow us to disclose (such "
               "as government ID, account numbers, passwords, security questions or "
               "biometric data); the report says that we hold it, not what it is.")

_NEVER = re.compile(
    r"(^|_)("
    r"ssn|ss_no|social_security\w*|tax_?id|tin|itin|passport\w*|"
    r"drivers?(_licen[cs]e)?\w*|dl_(no|num|number)|licen[cs]e_(no|num|number|id)|"
    r"national_id\w*|government_id\w*|gov_id|state_id_(no|num|number)|"
    r"(bank_)?account_(no|num|number)|acct\w*|iban|routing\w*|swift|bic|"
    r"(credit_)?card_(no|num|number)|credit_card\w*|cc_(no|num|number)|cvv|cvc|"
    r"medical_(id|record)\w*|mrn|health_(plan|insurance)\w*|insurance_(id|no|number)|"
    r"password\w*|passwd|pwd|pass_hash|pin|pin_code|"
    r"(security|secret)_(question|answer)\w*|"
    r"biometric\w*|fingerprint\w*|face_?print\w*|face_template\w*|voice_?print\w*|"
    r"retina\w*|iris_\w*"
    r")($|_)",
    re.IGNORECASE)


def never_disclose(table: Table, column: str) -> bool:
    if column in table.never_disclose or column.lower() in {
            c.lower() for c in table.never_disclose}:
        return True
    return bool(_NEVER.search(column))
