"""The reports: CCPA §7102 metrics for a calendar year and the §7101 request log.

``model`` holds the values and the counting rules (what counts as complied, denied and
why), ``csv_files`` and ``pdf_files`` write them; caseapp.services.reports reads the case
database into them.
"""
