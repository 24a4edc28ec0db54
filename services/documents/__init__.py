"""Documents: uploaded files checked by content and stored by hash, reviews, dossier completeness (R-18 to R-25)."""
