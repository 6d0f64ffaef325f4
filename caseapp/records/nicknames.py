"""First names that are the same person's: "Bob" is Robert, "Pepe" is José.

Used only to compare first names in fuzzy matching, after folding (so "José" is
"jose"). A small list of common US English and Spanish forms, not a dictionary of all
names: a nickname missing here still matches when it is close in spelling.
"""

from __future__ import annotations

from caseapp.records.normalize import fold_name

_GROUPS = (
    "william bill billy will willy liam",
    "robert bob bobby rob robbie bert",
    "elizabeth liz lizzie beth betsy betty eliza libby",
    "katherine catherine kathryn kate katie kathy cathy kat",
    "jennifer jen jenny",
    "michael mike mikey mick",
    "christopher chris kit",
    "christine christina chris chrissy tina",
    "margaret peggy maggie meg marge",
    "richard rick ricky dick rich",
    "james jim jimmy jamie",
    "joseph joe joey",
    "thomas tom tommy",
    "daniel dan danny",
    "matthew matt",
    "anthony tony",
    "alexander alex al sasha",
    "alexandra alex alexa sandra",
    "patricia pat patty trish",
    "patrick pat paddy",
    "jessica jess jessie",
    "rebecca becky becca",
    "samantha sam sammy",
    "samuel sam sammy",
    "nicholas nick nicky",
    "jonathan jon jonny",
    "john johnny jack",
    "benjamin ben benny",
    "steven stephen steve",
    "andrew andy drew",
    "timothy tim timmy",
    "kimberly kim",
    "deborah debbie deb",
    "susan sue susie",
    "edward ed eddie ted",
    "theodore ted teddy theo",
    "charles charlie chuck",
    "david dave davey",
    "gregory greg",
    "jeffrey jeff",
    "kenneth ken kenny",
    "lawrence larry",
    "leonard leo len lenny",
    "ronald ron ronnie",
    "donald don donnie",
    "gerald gerry jerry",
    "victoria vicky tori",
    "abigail abby",
    "amanda mandy",
    "barbara barb barbie",
    "dorothy dot dottie",
    "frances fran frannie",
    "francis frank frankie",
    "jacqueline jackie",
    "judith judy",
    "pamela pam",
    "sandra sandy",
    "teresa theresa terry tess",
    "francisco paco pancho frank",
    "jose pepe",
    "guadalupe lupe lupita",
    "ignacio nacho",
    "alejandro alex ale",
    "eduardo lalo eddie",
    "roberto beto",
    "alberto beto",
    "enrique kike",
    "jesus chuy",
    "manuel manolo",
    "dolores lola",
    "rosario charo",
    "concepcion concha",
    "mercedes meche",
)


def _table() -> dict[str, frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for number, line in enumerate(_GROUPS):
        for name in line.split():
            groups.setdefault(fold_name(name), set()).add(number)
    return {name: frozenset(numbers) for name, numbers in groups.items()}


_GROUP_OF = _table()


def same_first_name(a: str, b: str) -> bool:
    """Folded first names that are one name, or one a nickname of the other."""
    if a == b:
        return True
    left, right = _GROUP_OF.get(a), _GROUP_OF.get(b)
    return bool(left and right and left & right)


def _members() -> dict[int, frozenset[str]]:
    members: dict[int, set[str]] = {}
    for name, numbers in _GROUP_OF.items():
        for number in numbers:
            members.setdefault(number, set()).add(name)
    return {number: frozenset(names) for number, names in members.items()}


_MEMBERS = _members()


def first_initials(first: str) -> frozenset[str]:
    """The initials a first name may be written with: its own, and those of the names it
    is a nickname of or for ("bob" → b, r): what the index blocks first names by."""
    if not first:
        return frozenset()
    initials = {first[0]}
    for number in _GROUP_OF.get(first, ()):
        initials.update(name[0] for name in _MEMBERS[number])
    return frozenset(initials)
