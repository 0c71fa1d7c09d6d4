"""One router per audience."""
