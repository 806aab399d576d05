"""dfl.ir"""
