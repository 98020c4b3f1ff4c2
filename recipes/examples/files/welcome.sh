#!/bin/sh
echo "Welcome. Stop your instance when you are done: the meter runs while it runs."
