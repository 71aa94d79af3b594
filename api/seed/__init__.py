"""The starter library shipped with the app (data only)."""
