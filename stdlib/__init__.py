"""dfl.stdlib"""
