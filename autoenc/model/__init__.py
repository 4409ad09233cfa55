"""Model and tasks (conf/arch, conf/task, conf/loss): the CAE, what a task feeds it and scores, colour maths."""
