"""Model serving: releases (one loader, one version type), the category taxonomy and its
decisions, the photo classifier, the text categorizer and the price model, with the feature
code training shares. No training library is imported here."""
