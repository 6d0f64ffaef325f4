"""A QTextBrowser for hostile mail: it loads nothing.

The HTML it shows was already sanitized by the service (nh3); this is the second wall.
``loadResource`` is asked for every image, style sheet or other resource the document
names and returns nothing, except an image embedded in the document itself (a ``data:``
URL) — so no remote image, tracking pixel or local file is ever fetched, and there is no
QNetworkAccessManager. Links do not follow themselves: a click asks first, showing the
real address, and then hands it to the desktop's browser.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage, QTextDocument
from PySide6.QtWidgets import QMessageBox, QTextBrowser, QWidget

from ui.dialogs.confirm import ask

MAX_INLINE_IMAGE = 5 * 1024 * 1024
LINK_SCHEMES = ("http", "https", "mailto")


def open_in_desktop(url: QUrl) -> bool:
    """Hand a URL to the desktop (browser, mail program, file viewer); tests replace it."""
    return QDesktopServices.openUrl(url)


def data_image(url: QUrl) -> QImage | None:
    """The image in a ``data:image/...;base64,`` URL, or None."""
    text = url.toString(QUrl.ComponentFormattingOption.FullyEncoded)
    header, comma, payload = text[5:].partition(",")
    if not comma or not header.lower().startswith("image/") or ";base64" not in header:
        return None
    if len(payload) > MAX_INLINE_IMAGE * 4 // 3 + 4:
        return None
    try:
        data = base64.b64decode(QUrl.fromPercentEncoding(payload.encode("ascii")),
                                validate=False)
    except (binascii.Error, ValueError):
        return None
    image = QImage.fromData(data)
    return None if image.isNull() else image


class SafeBrowser(QTextBrowser):
    #: A link the user chose to open (after confirming), as handed to the desktop.
    link_opened = Signal(QUrl)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.refused: list[QUrl] = []
        """Every resource the document asked for and did not get (for the banner, tests)."""
        self.link_box: QMessageBox | None = None
        self.anchorClicked.connect(self.ask_to_open)

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        url = QUrl(name)
        if url.scheme() == "data" and type == QTextDocument.ResourceType.ImageResource:
            image = data_image(url)
            if image is not None:
                return image
        self.refused.append(url)
        return None

    def setSource(self, name: QUrl | str, type: QTextDocument.ResourceType =
                  QTextDocument.ResourceType.UnknownResource) -> None:
        """Never navigate anywhere (a link, Backspace/history): the message stays."""

    def ask_to_open(self, url: QUrl) -> None:
        """A click on a link: say where it really goes, and open it only if asked to."""
        shown = url.toDisplayString()
        if url.scheme().lower() not in LINK_SCHEMES:
            box = QMessageBox(QMessageBox.Icon.Warning, "Link not opened",
                              f"caseapp does not open this kind of link:\n\n{shown}",
                              QMessageBox.StandardButton.Ok, self)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
        else:
            box = ask(self, "Open link?",
                      f"This link in the message really goes to:\n\n{shown}\n\n"
                      "Links in mail from unknown senders can lead to fake login pages "
                      "or harmful downloads. Open it in your web browser?",
                      "Open in browser", lambda: self._open(url))
        self.link_box = box

    def _open(self, url: QUrl) -> None:
        open_in_desktop(url)
        self.link_opened.emit(url)
