"""Judging learning: daily P&L of strategies and the paired block bootstrap verdict."""
