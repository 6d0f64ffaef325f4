"""The workflow steps of a case as buttons: allowed ones enabled, the others disabled
with the reason why as their tooltip."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QWidget

from caseapp.workflow.machine import StepOption
from ui.widgets.flow_layout import FlowLayout

OVERRIDE_NOTE = "As a supervisor you may override this with a reason."


def needs_input(option: StepOption) -> bool:
    return (option.requires_reason or option.requires_case or option.requires_method
            or option.overridable)


class StepBar(QWidget):
    step_requested = Signal(object)  # StepOption

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = FlowLayout(self)
        self.buttons: dict[str, QPushButton] = {}
        self._busy = False

    def set_steps(self, steps: tuple[StepOption, ...], *, can_override: bool) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.buttons = {}
        # Steps that can be taken now come first, in workflow order.
        ordered = sorted(steps, key=lambda s: not (s.allowed or (s.overridable and can_override)))
        for option in ordered:
            enabled = option.allowed or (option.overridable and can_override)
            text = option.label + ("…" if needs_input(option) else "")
            button = QPushButton(text)
            button.setObjectName(f"step_{option.name}")
            button.setEnabled(enabled)
            tips = []
            if not option.allowed and option.why_not:
                tips.append(option.why_not)
                if option.overridable and can_override:
                    tips.append(OVERRIDE_NOTE)
            if option.help:
                tips.append(option.help)
            button.setToolTip("\n".join(tips))
            if enabled:
                button.setStyleSheet("font-weight: bold;")
            button.clicked.connect(lambda _checked=False, o=option: self.step_requested.emit(o))
            self._layout.addWidget(button)
            self.buttons[option.name] = button
        self._enabled = {name: b.isEnabled() for name, b in self.buttons.items()}
        self.updateGeometry()

    def set_busy(self, busy: bool) -> None:
        """While a step is being saved, no second click goes through."""
        self._busy = busy
        for name, button in self.buttons.items():
            button.setEnabled(not busy and self._enabled.get(name, False))
