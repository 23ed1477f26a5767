"""Encryption keys committed to the repository for development and tests.

They are public knowledge, so they protect nothing: `docos.checks` refuses them (docos.E002) in
production settings, whatever key id they are listed under.
"""

DEV_ENCRYPTION_KEYS = "dev1:ZGV2LW9ubHkta2V5LWRvLW5vdC11c2UtaW4tcHJvZCE="
TEST_ENCRYPTION_KEYS = "test1:dGVzdC1rZXktMzItYnl0ZXMtbG9uZy0wMTIzNDU2Nzg="
WELL_KNOWN_KEY_SPECS = (DEV_ENCRYPTION_KEYS, TEST_ENCRYPTION_KEYS)
