"""dfl.compiler"""
