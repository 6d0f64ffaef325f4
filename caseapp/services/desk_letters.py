"""The desk's letters (caseapp.services.Desk): drafting and issuing, the templates and
the organization's text, outgoing mail, the print server. A part of the Desk facade kept
apart by area; the Desk mixes it in."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from caseapp.records.lookup import RecordSystems
from caseapp.services import letter_email, letter_printing, letter_templates, letters
from caseapp.services.context import ServiceContext
from caseapp.services.dto import CaseDetail
from caseapp.workflow.machine import StepOption


class LetterDesk:
    """The letters' part of the Desk (which gives it ``ctx``, ``get_case`` and the
    customer systems for an access report)."""

    ctx: ServiceContext

    def get_case(self, ref: str) -> CaseDetail:
        raise NotImplementedError  # the Desk's

    def _systems_for(self, ref: str, request: letters.LetterRequest) -> RecordSystems | None:
        raise NotImplementedError  # the Desk's

    # --- letters ---------------------------------------------------------------------------
    def draft_letter(self, ref: str, request: letters.LetterRequest) -> letters.RenderedLetter:
        """The letter as it would be issued now (serial DRAFT); nothing is stored."""
        return letters.draft(self.ctx, self._systems_for(ref, request), ref, request)

    def issue_letter(self, ref: str, request: letters.LetterRequest) -> letters.RenderedLetter:
        """Issue a letter: serial, PDF stored with the case, audited with its SHA-256."""
        return letters.issue(self.ctx, self._systems_for(ref, request), ref, request)

    def letter_pdf(self, ref: str, serial: str) -> bytes:
        return letters.letter_pdf(self.ctx, ref, serial)

    def list_letter_templates(self) -> list[letter_templates.TemplateInfo]:
        return letter_templates.list_templates(self.ctx)

    def letter_template_text(self, kind: str, language: str) -> str:
        """The text the desk prints with: as an administrator saved it, else shipped."""
        return letter_templates.template_text(self.ctx, kind, language)

    def shipped_letter_template(self, kind: str, language: str) -> str:
        return letter_templates.shipped_text(kind, language)

    def preview_letter_template(self, kind: str, language: str, text: str
                                ) -> letters.RenderedLetter:
        """The text as a sample letter, or TemplateProblem (with its line)."""
        return letter_templates.preview_template(self.ctx, kind, language, text)

    def save_letter_template(self, kind: str, language: str, text: str
                             ) -> letter_templates.TemplateInfo:
        """For the whole desk (administrators); refused unless it renders."""
        return letter_templates.save_template(self.ctx, kind, language, text)

    def revert_letter_template(self, kind: str, language: str
                               ) -> letter_templates.TemplateInfo:
        return letter_templates.revert_template(self.ctx, kind, language)

    def letter_organization(self) -> str:
        """The organization profile (letterhead, contacts) as TOML text."""
        return letter_templates.organization_text(self.ctx)

    def save_letter_organization(self, text: str) -> None:
        letter_templates.save_organization(self.ctx, text)

    def revert_letter_organization(self) -> None:
        letter_templates.revert_organization(self.ctx)

    def set_letter_logo(self, data: bytes | None) -> None:
        """The logo beside the name on every letter (PNG or JPEG bytes; None: none)."""
        letter_templates.set_logo(self.ctx, data)

    def step_after_sending(self, ref: str, kind: str) -> StepOption | None:
        """The step sending this kind of letter completes (acknowledge, approve and send)
        when this user may take it on the case now; None otherwise."""
        step = letters.STEP_AFTER_SENDING.get(kind)
        if step is None:
            return None
        return next((option for option in self.get_case(ref).steps
                     if option.name == step and option.allowed), None)

    def list_letters(self, ref: str) -> list[letters.LetterView]:
        return letters.list_letters(self.ctx, ref)

    def record_mailing(self, ref: str, serial: str, *, method: str,
                       mailed_on: date | None = None, tracking_number: str = ""
                       ) -> letters.LetterView:
        return letters.record_mailing(self.ctx, ref, serial, method=method,
                                      mailed_on=mailed_on, tracking_number=tracking_number)

    def record_returned(self, ref: str, serial: str, *, returned_on: date | None = None,
                        note: str = "") -> letters.LetterView:
        return letters.record_returned(self.ctx, ref, serial, returned_on=returned_on,
                                       note=note)

    # --- letters: email --------------------------------------------------------------------
    # Outgoing mail: the SMTP settings this desk sends with (the settings file's [smtp]
    # unless use_smtp was called); the password comes from the keyring.
    _smtp: letter_email.SmtpSettings | None = None
    _smtp_password: str | None = None
    _smtp_ssl_context: ssl.SSLContext | None = None
    _smtp_settings_file: Path | None = None

    def use_smtp(self, settings: letter_email.SmtpSettings | None, *,
                 password: str | None = None, ssl_context: ssl.SSLContext | None = None,
                 settings_file: Path | None = None) -> None:
        """Send with these settings (None: the settings file's), this password and CA
        instead of the keyring's and the system's (tests, a company CA); ``settings_file``
        is the file read and written instead of the user's settings.toml."""
        self._smtp, self._smtp_password = settings, password
        self._smtp_ssl_context = ssl_context
        self._smtp_settings_file = settings_file

    def smtp_settings(self) -> letter_email.SmtpSettings:
        """The outgoing-mail settings in use (the settings file's unless use_smtp gave
        some)."""
        if self._smtp is None:
            self._smtp = letter_email.load_smtp_settings(self._smtp_settings_file)
        return self._smtp

    def save_smtp_settings(self, settings: letter_email.SmtpSettings,
                           password: str | None = None) -> Path:
        """Write ``settings`` as the settings file's [smtp] (nothing else in it changes)
        and, when given, the password into the keyring; return the file."""
        file = letter_email.save_smtp_settings(settings, password, self._smtp_settings_file)
        self._smtp = settings
        if password:
            self._smtp_password = None  # the keyring has it now
        return file

    def smtp_password_stored(self, settings: letter_email.SmtpSettings | None = None) -> bool:
        return letter_email.password_stored(settings or self.smtp_settings())

    def check_smtp(self, settings: letter_email.SmtpSettings | None = None,
                   password: str | None = None) -> letter_email.SmtpCheck:
        """Connect and log in (nothing is sent) with ``settings`` or the ones in use."""
        return letter_email.check_smtp(settings or self.smtp_settings(),
                                       password or self._smtp_password,
                                       ssl_context=self._smtp_ssl_context)

    def email_letter(self, ref: str, serial: str, to: str | None = None, *,
                     again: bool = False) -> letter_email.EmailedLetter:
        """Email the issued letter (its stored PDF attached) to the requester, or ``to``;
        recorded in the case thread once the server accepted it. A letter emailed before
        goes again only with ``again``."""
        return letter_email.email_letter(
            self.ctx, ref, serial, self.smtp_settings(), to=to, again=again,
            password=self._smtp_password, ssl_context=self._smtp_ssl_context)
    # --- end of letters: email ---------------------------------------------------------

    # --- letters: printing ---------------------------------------------------------------
    # CUPS printing (caseapp.letters.printing): the print server is the one the CUPS
    # client would use (CUPS_SERVER, client.conf) unless use_print_server names another.
    _print_server: str | None = None

    def use_print_server(self, server: str | None) -> None:
        """Print on this CUPS server (``host:port``, ``host`` or a socket path)."""
        self._print_server = server

    def print_server(self) -> letter_printing.Cups:
        return letter_printing.Cups(self._print_server)

    def printers(self) -> tuple[letter_printing.Printer, ...]:
        """The print server's printers, the default one first."""
        return self.print_server().printers()

    def print_letter(self, ref: str, serial: str, printer: str | None = None,
                     copies: int = 1) -> letter_printing.PrintedLetter:
        """Send the issued letter's PDF to ``printer`` (None: the default); audited
        ("letter.printed") with the CUPS job id. A print of it cut short by a crash is
        looked up on the server first and, found, recorded instead of sent again."""
        return letter_printing.print_letter(self.ctx, self.print_server(), ref, serial,
                                            printer=printer, copies=copies)

    def record_letter_printed(self, ref: str, serial: str, *, printer: str,
                              job_id: str = "", copies: int = 1,
                              ) -> letter_printing.PrintedLetter:
        """Audit a letter printed through the print dialog, like print_letter does."""
        return letter_printing.record_printed(self.ctx, ref, serial, printer=printer,
                                              job_id=job_id, copies=copies)

    def print_job_status(self, job_id: str) -> letter_printing.JobStatus:
        return self.print_server().job_status(job_id)

    def acknowledgements_due(self, day: date | None = None,
                             ) -> tuple[letter_printing.DueAcknowledgement, ...]:
        """Open cases whose acknowledgement is due by ``day`` (today) and has not gone
        out."""
        return letter_printing.acknowledgements_due(self.ctx, day)

    def print_batch(self, refs: Iterable[str] | None = None, *,
                    kind: str = letter_printing.ACKNOWLEDGEMENT, day: date | None = None,
                    printer: str | None = None, copies: int = 1,
                    progress: letter_printing.Progress | None = None,
                    should_stop: letter_printing.ShouldStop | None = None,
                    ) -> letter_printing.BatchResult:
        """Issue (or reuse today's) and print the letter ``kind`` for each case; ``refs``
        None: the acknowledgements due by ``day``. One failure does not stop the rest."""
        if refs is None:
            refs = letter_printing.batch_refs(self.ctx, kind, day)
        return letter_printing.print_batch(
            self.ctx, self.issue_letter, self.print_server(), refs, kind=kind,
            printer=printer, copies=copies, progress=progress, should_stop=should_stop)
