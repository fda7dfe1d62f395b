"""Hospital birth and death notifications in HL7 FHIR R4 (parse, build)."""
