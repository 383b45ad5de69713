"""Wire formats of patient billing (the FHIR R4 view of the ledger)."""
