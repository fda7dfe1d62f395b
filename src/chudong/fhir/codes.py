"""Systems, codes and value sets the hospital-notification profile uses (FHIR R4)."""

from __future__ import annotations

# Vietnam Core (Ministry of Health) identifier systems.
NATIONAL_ID_SYSTEM = "http://fhir.ehealth.gov.vn/core/sid/national_id"  # CCCD, 12 digits
CITIZEN_ID_SYSTEM = "http://fhir.ehealth.gov.vn/core/sid/citizen_id"  # old CMND, 9 digits
INSURANCE_SYSTEM = "http://fhir.ehealth.gov.vn/core/sid/insurance_number"  # health insurance card
# VN Core complex address extension (province / district / ward by administrative code).
VN_ADMIN_ADDRESS_EXT = "http://fhir.ehealth.gov.vn/core/StructureDefinition/extension-administrative-address"
# ISO 21090 address part "precinct" (a subsection of a municipality): a ward, in Vietnam.
ADXP_PRECINCT_EXT = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-precinct"

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_0131 = "http://terminology.hl7.org/CodeSystem/v2-0131"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10_SYSTEMS = frozenset({
    "http://hl7.org/fhir/sid/icd-10",
    "http://hl7.org/fhir/sid/icd-10-vn",
    "http://hl7.org/fhir/sid/icd-10-cm",
})
BIRTH_TIME_EXT = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"

LOINC_BIRTH_WEIGHT = "8339-4"
LOINC_BODY_WEIGHT = "29463-7"
LOINC_CAUSE_OF_DEATH = "69453-9"
LOINC_DEATH_DATE = "81956-5"  # "Date+time of death" (e.g. HL7 VRDR's DeathDate Observation)

BUNDLE_TYPES = frozenset({
    "document", "message", "transaction", "transaction-response", "batch", "batch-response",
    "history", "searchset", "collection",
})
ACCEPTED_BUNDLE_TYPES = ("message", "transaction", "collection", "document")
ADMINISTRATIVE_GENDER = frozenset({"male", "female", "other", "unknown"})
LINK_TYPES = frozenset({"replaced-by", "replaces", "refer", "seealso"})
MOTHER_CODES = frozenset({"MTH", "NMTH"})
# Results that must not be used (FHIR: entered-in-error / cancelled are not facts).
VOID_OBSERVATION_STATUSES = frozenset({"cancelled", "entered-in-error"})
VOID_CONDITION_VERIFICATION = frozenset({"entered-in-error", "refuted"})

# v3 RoleCode, _PersonalRelationshipRoleType and the other person roles of the
# R4 "PatientRelationshipType" value set that RelatedPerson.relationship is bound to.
V3_PERSONAL_RELATIONSHIP = frozenset("""
_PersonalRelationshipRoleType FAMMEMB CHILD CHLDADOPT DAUADOPT SONADOPT CHLDFOST DAUFOST SONFOST
CHLDINLAW DAUINLAW SONINLAW DAUC DAU STPDAU NCHILD SON SONC STPSON STPCHLD EXT AUNT MAUNT PAUNT
COUSN MCOUSN PCOUSN GGRPRN GGRFTH MGGRFTH PGGRFTH GGRMTH MGGRMTH PGGRMTH MGGRPRN PGGRPRN
GRNDCHILD GRNDDAU GRNDSON GRPRN GRFTH MGRFTH PGRFTH GRMTH MGRMTH PGRMTH MGRPRN PGRPRN INLAW
PRNINLAW FTHINLAW MTHINLAW MTHINLOAW SIBINLAW BROINLAW SISINLAW NIENEPH NEPHEW NIECE UNCLE MUNCLE
PUNCLE PRN ADOPTP ADOPTF ADOPTM FTH FTHFOST NFTH NFTHF STPFTH MTH GESTM MTHFOST NMTH NMTHF STPMTH
NPRN PRNFOST STPPRN SIB BRO HBRO NBRO TWINBRO FTWINBRO ITWINBRO STPBRO HSIB HSIS NSIB NSIS
TWINSIS FTWINSIS ITWINSIS TWIN FTWIN ITWIN SIS STPSIS STPSIB SIGOTHR DOMPART FMRSPS SPS HUSB
WIFE FRND NBOR ONESELF ROOM
GUARD GUADLTM POWATT DPOWATT HPOWATT SPOWATT NOK ECON WIT CAREGIVER RESPRSN EXCEST GUAR EMGCON
""".split())
# v2 table 0131 (contact role), the other half of that value set.
V2_CONTACT_ROLE = frozenset({"BP", "C", "CP", "E", "EP", "F", "I", "N", "O", "PR", "S", "U"})

# Resource types of R4 that R4B dropped: valid in an R4 Bundle, never needed here.
R4_ONLY_TYPES = frozenset({
    "EffectEvidenceSynthesis", "RiskEvidenceSynthesis", "ResearchDefinition",
    "ResearchElementDefinition", "MedicinalProduct", "MedicinalProductAuthorization",
    "MedicinalProductContraindication", "MedicinalProductIndication", "MedicinalProductIngredient",
    "MedicinalProductInteraction", "MedicinalProductManufactured", "MedicinalProductPackaged",
    "MedicinalProductPharmaceutical", "MedicinalProductUndesirableEffect", "SubstanceNucleicAcid",
    "SubstancePolymer", "SubstanceProtein", "SubstanceReferenceInformation",
    "SubstanceSourceMaterial", "SubstanceSpecification", "DeviceUseStatement",
})
