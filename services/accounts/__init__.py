"""Accounts: candidate and staff accounts, activation links, credentials (R-02, R-04, R-05)."""
