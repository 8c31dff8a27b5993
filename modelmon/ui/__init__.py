"""modelmon ui: the web app, its JSON API and pages, and the one-file HTML report."""
