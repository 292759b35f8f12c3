"""The connect wizard's steps, shared by every destination type.

One view per step over a draft row (ConnectionDraft), never the session:
step 1 fills the draft, step 2 turns it into a Connection, whose page is the
permission check (step 3). The indicator is `core.wizard.progress`.
"""

from core.wizard import WizardStep


class Step(WizardStep):
    AUTHENTICATE = "authenticate", "Authenticate"
    DETAILS = "details", "Destination details"
    CHECK = "check", "Permission check"
