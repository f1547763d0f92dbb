"""The script to hand to ``spark-submit`` (it runs a file, not a module):

    spark-submit --master yarn --py-files quotegraph.zip \
        "$(python -c 'import quotegraph.spark.submit as s; print(s.__file__)')" \
        extract hdfs:///crawl/ --output hdfs:///quotegraph/run1 --model fast
    spark-submit ... submit.py merge hdfs:///quotegraph/run1

Master, memory and cores come from spark-submit's options; see docs/spark.md.
"""

import sys

from quotegraph.spark.job import main

if __name__ == "__main__":
    sys.exit(main())
