"""Datasets and a recipe in, a model directory out."""
