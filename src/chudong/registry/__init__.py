"""The person index and the normalised registry data every other feature reads."""
