"""The workflow steps of a case.

- Steps that can be taken now are bold buttons, first, in workflow order.
- Steps refused for a reason the user can act on (four-eyes, open notices, role) stay
  visible as disabled buttons whose tooltip says what is missing.
- Steps refused only because the case is in another state ("Only from: …") go into a
  "More steps" menu as disabled entries that say from where they can be taken.

The buttons are a fixed pool created once, so the Tab order stays the reading order:
the first step that can be taken is the first thing Tab reaches on the case page.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QPushButton, QToolButton, QWidget

from caseapp.workflow.machine import StepOption
from ui.widgets.flow_layout import FlowLayout

OVERRIDE_NOTE = "As a supervisor you may override this with a reason."
OTHER_STATE = "Only from"
_CASE_IS = re.compile(r"\s*\(the case is [^)]*\)\.?\s*$")


def needs_input(option: StepOption) -> bool:
    return (option.requires_reason or option.requires_case or option.requires_method
            or option.overridable)


def only_elsewhere(option: StepOption) -> bool:
    """Refused only because the case is in another state."""
    return not option.allowed and option.why_not.startswith(OTHER_STATE)


class StepBar(QWidget):
    step_requested = Signal(object)  # StepOption

    def __init__(self, slots: int = 1, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = FlowLayout(self)
        self._slots: list[QPushButton] = []
        self._options: list[StepOption | None] = []
        self.buttons: dict[str, QPushButton] = {}  # the steps shown as buttons, by name
        self.more_actions: dict[str, QAction] = {}  # the steps in the More menu, by name
        self._enabled: dict[str, bool] = {}
        self._busy = False
        for _ in range(max(slots, 1)):
            self._add_slot()
        self.more_menu = QMenu(self)
        self.more_menu.setToolTipsVisible(True)
        self.more_button = QToolButton()
        self.more_button.setText("More steps ▾")
        self.more_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        # The ▾ in the text says it opens a menu; the style's own arrow would overlap it.
        self.more_button.setStyleSheet("QToolButton::menu-indicator { image: none; }")
        self.more_button.setMinimumHeight(self._slots[0].sizeHint().height())
        self.more_button.setMenu(self.more_menu)
        self.more_button.setToolTip("Steps for other stages of the case, and from where "
                                    "they can be taken")
        self._layout.addWidget(self.more_button)
        self.more_button.hide()

    def _add_slot(self) -> QPushButton:
        button = QPushButton()
        index = len(self._slots)
        button.clicked.connect(lambda _checked=False, i=index: self._clicked(i))
        if not hasattr(self, "more_button"):  # while the bar is made
            self._layout.addWidget(button)
        else:  # more steps than ever before: still before More, in layout and Tab order
            self._layout.removeWidget(self.more_button)
            self._layout.addWidget(button)
            self._layout.addWidget(self.more_button)
            QWidget.setTabOrder(self._slots[-1], button)
            QWidget.setTabOrder(button, self.more_button)
        button.hide()
        self._slots.append(button)
        self._options.append(None)
        return button

    def _clicked(self, index: int) -> None:
        option = self._options[index]
        if option is not None:
            self.step_requested.emit(option)

    def set_steps(self, steps: tuple[StepOption, ...], *, can_override: bool) -> None:
        def enabled(option: StepOption) -> bool:
            return option.allowed or (option.overridable and can_override)

        shown = [s for s in steps if enabled(s) or not only_elsewhere(s)]
        elsewhere = [s for s in steps if not enabled(s) and only_elsewhere(s)]
        # Steps that can be taken now come first, in workflow order.
        shown.sort(key=lambda s: not enabled(s))
        while len(self._slots) < len(shown):
            self._add_slot()
        self.buttons = {}
        for index, button in enumerate(self._slots):
            option = shown[index] if index < len(shown) else None
            self._options[index] = option
            if option is None:
                button.hide()
                continue
            button.setText(option.label + ("…" if needs_input(option) else ""))
            button.setObjectName(f"step_{option.name}")
            button.setEnabled(enabled(option))
            tips = []
            if not option.allowed and option.why_not:
                tips.append(option.why_not)
                if option.overridable and can_override:
                    tips.append(OVERRIDE_NOTE)
            if option.help:
                tips.append(option.help)
            button.setToolTip("\n".join(tips))
            button.setStyleSheet("font-weight: bold;" if enabled(option) else "")
            button.show()
            self.buttons[option.name] = button
        self.more_menu.clear()
        self.more_actions = {}
        for option in elsewhere:
            where = _CASE_IS.sub("", option.why_not)
            action = self.more_menu.addAction(f"{option.label} — {where[:1].lower()}"
                                              f"{where[1:]}")
            action.setEnabled(False)
            action.setToolTip("\n".join(t for t in (option.why_not, option.help) if t))
            self.more_actions[option.name] = action
        self.more_button.setVisible(bool(elsewhere))
        self.more_button.setToolTip(
            f"{len(elsewhere)} step(s) for other stages of the case, and from where they "
            "can be taken")
        self._enabled = {name: b.isEnabled() for name, b in self.buttons.items()}
        if self._busy:
            self.set_busy(True)
        self.updateGeometry()

    def step(self, name: str) -> QPushButton | QAction:
        """Where a step is: its button, or its entry in the More menu."""
        return self.buttons.get(name) or self.more_actions[name]

    def first_allowed(self) -> QPushButton | None:
        """The button Tab reaches first and focus returns to after a step."""
        return next((b for b in self.buttons.values() if self._enabled.get(
            b.objectName().removeprefix("step_"), False)), None)

    def set_busy(self, busy: bool) -> None:
        """While a step is being saved, no second click goes through."""
        self._busy = busy
        for name, button in self.buttons.items():
            button.setEnabled(not busy and self._enabled.get(name, False))
