"""Thin trigger adapters: parse the payload, hand it to the pipeline, answer the caller.

Each module holds one Blueprint; function_app.py registers them all.
"""
