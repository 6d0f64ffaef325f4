"""Notes on a case (newest first) and the box to add one; the case's tasks."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caseapp.services.dto import NoteView, TaskView
from ui.formatting import date_text, moment_text

TaskIdRole = Qt.ItemDataRole.UserRole


class NotesPanel(QWidget):
    note_submitted = Signal(str)

    def __init__(self, timezone: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._timezone = timezone
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Add a note (who called, what was agreed…)")
        self.editor.setFixedHeight(64)
        self.editor.setTabChangesFocus(True)
        self.add_button = QPushButton("Add note")
        self.add_button.setEnabled(False)
        self.editor.textChanged.connect(
            lambda: self.add_button.setEnabled(bool(self.editor.toPlainText().strip())))
        self.add_button.clicked.connect(self._submit)
        row = QHBoxLayout()
        row.addWidget(self.editor, 1)
        row.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)

    def set_notes(self, notes: tuple[NoteView, ...]) -> None:
        self.list.clear()
        for note in reversed(notes):
            when = moment_text(note.created_at, self._timezone)
            self.list.addItem(QListWidgetItem(f"{when} · {note.author}\n{note.body}"))
        if not notes:
            self.list.addItem(QListWidgetItem("No notes yet."))

    def clear_editor(self) -> None:
        self.editor.clear()

    def _submit(self) -> None:
        text = self.editor.toPlainText().strip()
        if text:
            self.note_submitted.emit(text)


class TasksPanel(QWidget):
    task_done = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        self.empty = QLabel("No tasks.")
        self.empty.setStyleSheet("color: #5f6b76;")
        self._open_count = 0
        self.done_button = QPushButton("Mark done")
        self.done_button.setEnabled(False)
        self.done_button.clicked.connect(self._done)
        self.list.currentItemChanged.connect(lambda *_: self._update_button())
        row = QHBoxLayout()
        row.addWidget(self.empty)
        row.addStretch(1)
        row.addWidget(self.done_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(row)

    def set_tasks(self, tasks: tuple[TaskView, ...]) -> None:
        self.list.clear()
        for task in tasks:
            due = f" — due {date_text(task.due_on)}" if task.due_on else ""
            mark = "✓ " if task.status == "done" else "☐ "
            item = QListWidgetItem(f"{mark}{task.title}{due}")
            item.setData(TaskIdRole, task.id)
            item.setData(TaskIdRole + 1, task.status)
            if task.status == "done":
                item.setForeground(Qt.GlobalColor.gray)
            self.list.addItem(item)
        self.empty.setVisible(not tasks)
        self._open_count = sum(1 for task in tasks if task.status != "done")
        self._update_button()

    def open_count(self) -> int:
        return self._open_count

    def _update_button(self) -> None:
        item = self.list.currentItem()
        self.done_button.setEnabled(item is not None and item.data(TaskIdRole + 1) != "done")

    def _done(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.task_done.emit(int(item.data(TaskIdRole)))
