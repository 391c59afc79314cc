"""Streamlit-side helpers of the pages, one job per module (README, Layout, maps them); ``nst_core`` never
imports this package."""
