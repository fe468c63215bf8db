"""Answers as data: one derivative (a report), every gradient, the matrix form; rendering is elsewhere."""
