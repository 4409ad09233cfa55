"""Reporting: a sweep's runs -> the comparison table (markdown, csv) and its plots."""
