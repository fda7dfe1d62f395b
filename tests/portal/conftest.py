import pytest

from tests.dossiers.conftest import notices  # noqa: F401 - dossier notices captured until templates are unified
