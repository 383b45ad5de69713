"""FHIR R4 read APIs, the same way in every service: strict search parameters, searchset Bundles with paging
links, OperationOutcome errors, every resource validated through the ``fhir.resources`` models."""
