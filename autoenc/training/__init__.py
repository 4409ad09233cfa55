"""Training (conf/optimizer, conf/scheduler, conf/trainer): the checked config, the LightningModule, the fit."""
